import ArgumentParser
import Foundation
import IntermeshAPI
import IntermeshClient

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
        do {
            if follow {
                // Server-sent events: past events, then new ones as they happen, until interrupted.
                for try await data in try await api.events(Endpoint.events(run, follow: true)) {
                    try show(try APIClient.decoder.decode(EventRecord.self, from: data))
                }
                return
            }
            var after: Int64 = 0
            while true {
                let events = try await api.events(of: run, after: after)
                guard let last = events.last else { return }
                for event in events { try show(event) }
                after = last.id
            }
        } catch let error as APIClientError {
            throw error.cliError
        }
    }

    func show(_ event: EventRecord) throws {
        if output == .table {
            let time = Timestamps.format(event.time)
            Terminal.stdout.write("\(time)  \(event.kind.padding(toLength: 12, withPad: " ", startingAt: 0))  \(event.message)\n")
        } else {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            encoder.dateEncodingStrategy = Timestamps.encoding
            Terminal.stdout.write(String(decoding: try encoder.encode(event), as: UTF8.self) + "\n")
        }
    }
}
