import ArgumentParser
import Foundation
import IntermeshAPI
import IntermeshClient

/// `intermesh describe run RUN`.
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Show a run: phase, conditions, revision, sites.")

    @Argument(help: "What to describe: run.")
    var kind: String

    @Argument(help: "The run.")
    var run: String

    @Option(name: .shortAndLong, help: "table (text), json or yaml.")
    var output: DataFormat = .table

    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard kind == "run" else { throw ValidationError("only 'describe run RUN' is supported, got '\(kind)'") }
    }

    func run() async throws {
        let description: RunDescription
        let api = try client.client()
        do {
            description = try await api.describe(run: run)
        } catch let error as APIClientError {
            throw error.cliError
        }
        // Which server answered: with servers sharing a store, the active one (the client followed it).
        let server = try? await api.serverInfo()
        guard output == .table else {
            Terminal.stdout.write(try Rendering.render(description, table: [], format: output))
            return
        }
        var text = """
        Name:        \(description.name)
        Phase:       \(description.phase)
        Revision:    \(description.activeRevision) (generation \(description.generation), \(description.contentHash.prefix(19)))
        Applied by:  \(description.appliedBy) at \(ISO8601DateFormatter().string(from: description.appliedAt))
        Outer step:  \(description.outerStep)

        """
        if let server {
            let role = server.role == .active ? "active, lease epoch \(server.epoch ?? 0)" : server.role.rawValue
            text += "Server:      \(server.address ?? api.server) (\(role))\n"
        }
        if !description.conditions.isEmpty {
            text += "Conditions:\n"
            for condition in description.conditions {
                text += "  \(condition.type)=\(condition.status) \(condition.reason): \(condition.message) (generation \(condition.observedGeneration))\n"
            }
        }
        text += "Sites:\n"
        text += Rendering.indent(try Rendering.render(description.sites, table: [["SITE", "LAUNCHER", "DESIRED", "LIVE", "LINK"]] + description.sites.map {
            [$0.name, $0.launcher, String($0.desired), String($0.live), $0.link?.summary ?? "-"]
        }, format: .table))
        Terminal.stdout.write(text)
    }
}

extension Rendering {
    static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "  \($0)" }.joined(separator: "\n")
    }
}
