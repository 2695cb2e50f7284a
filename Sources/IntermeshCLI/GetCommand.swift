import ArgumentParser
import Foundation
import IntermeshAPI
import IntermeshClient
import IntermeshPlan
import Yams

/// `intermesh get runs|sites|revisions [RUN]`.
struct GetCommand: AsyncParsableCommand {
    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case runs, sites, members, revisions
    }

    static let configuration = CommandConfiguration(commandName: "get", abstract: "List runs, or a run's sites, members or revisions.")

    @Argument(help: "runs, sites, members or revisions.")
    var kind: Kind

    @Argument(help: "The run (for sites and revisions).")
    var run: String?

    @Option(name: .shortAndLong, help: "table, json or yaml.")
    var output: DataFormat = .table

    @OptionGroup var client: ClientOptions

    func validate() throws {
        if kind != .runs, run == nil { throw ValidationError("'get \(kind.rawValue)' needs a RUN") }
    }

    func run() async throws {
        let api = try client.client()
        do {
            switch kind {
            case .runs:
                let runs = try await api.runs()
                try print(runs, table: [["NAME", "PHASE", "REVISION", "OUTER STEP", "SITES", "REPLICAS"]] + runs.map {
                    [$0.name, $0.phase.rawValue, String($0.revision), String($0.outerStep), String($0.sites), String($0.replicas)]
                })
            case .sites:
                let description = try await api.describe(run: run!)
                try print(description.sites, table: [["SITE", "LAUNCHER", "DESIRED", "LIVE"]] + description.sites.map {
                    [$0.name, $0.launcher, String($0.desired), String($0.live)]
                })
            case .members:
                let members = try await api.members(of: run!)
                let now = Date()
                try print(members, table: [["SLOT", "MEMBER", "STATE", "OUTER STEP", "REVISION", "LAST HEARTBEAT"]] + members.map {
                    [$0.slot, $0.id, $0.state.rawValue, String($0.outerStep), String(($0.revision ?? "-").prefix(19)),
                     String(format: "%.1fs ago", now.timeIntervalSince($0.lastHeartbeat))]
                })
            case .revisions:
                let revisions = try await api.revisions(of: run!)
                try print(revisions, table: [["REVISION", "ACTIVE", "APPLIED BY", "APPLIED AT", "CONTENT HASH"]] + revisions.map {
                    [String($0.number), $0.active ? "*" : "", $0.appliedBy, ISO8601DateFormatter().string(from: $0.appliedAt),
                     String($0.contentHash.prefix(19))]
                })
            }
        } catch let error as APIClientError {
            throw error.cliError
        }
    }

    func print<T: Encodable>(_ value: T, table: [[String]]) throws {
        Terminal.stdout.write(try Rendering.render(value, table: table, format: output))
    }
}

/// Shared rendering of table, JSON and YAML output.
enum Rendering {
    static func render<T: Encodable>(_ value: T, table: [[String]], format: DataFormat) throws -> String {
        switch format {
        case .table:
            return Format.table(table)
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = Timestamps.encoding
            return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
        case .yaml:
            let encoder = YAMLEncoder()
            encoder.options.sortKeys = true
            return try encoder.encode(value)
        }
    }
}
