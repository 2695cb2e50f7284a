import ArgumentParser
import Foundation
import IntermeshClient
import IntermeshControl
import IntermeshStore

/// `intermesh events RUN [--follow]`.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Show a run's events; --follow keeps printing new ones.")

    @Argument(help: "The run.")
    var run: String

    @Flag(help: "Keep printing new events until interrupted.")
    var follow = false

    @Option(name: .shortAndLong, help: "table (lines) or json (one object per line).")
    var output: DataFormat = .table

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let api = try client.client()
        var after: Int64 = 0
        let formatter = ISO8601DateFormatter()
        repeat {
            let events: [EventRecord]
            do {
                events = try await api.get("/v1/runs/\(run)/events?after=\(after)")
            } catch let error as APIClientError {
                throw error.cliError
            }
            for event in events {
                if output == .table {
                    Terminal.stdout.write("\(formatter.string(from: event.time))  \(event.kind.padding(toLength: 12, withPad: " ", startingAt: 0))  \(event.message)\n")
                } else {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    encoder.dateEncodingStrategy = Timestamps.encoding
                    Terminal.stdout.write(String(decoding: try encoder.encode(event), as: UTF8.self) + "\n")
                }
                after = event.id
            }
            if follow { try await Task.sleep(for: .seconds(1)) }
        } while follow
    }
}
