import ArgumentParser
import Foundation
import Hummingbird
import IntermeshServer
import IntermeshSpec
import Logging

/// `intermesh serve`: the control plane.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the control plane: store, HTTP API (/v1) and reconciler.")

    @Option(help: "Data directory of the embedded SQLite store.")
    var data: String = "intermesh-data"

    @Option(help: "Address to listen on, HOST:PORT.")
    var listen: String = "127.0.0.1:7700"

    @Option(help: "Store URL: sqlite:DIR (default: sqlite:<--data>).")
    var store: String?

    @Option(help: "Also write the first admin token to this file (mode 0600).")
    var adminTokenFile: String?

    @Option(help: ArgumentHelp("Port of the Lighthouse endpoint (torchft's gRPC protocol) on the --listen host: a number, 0 for any free port, or 'off'.",
                               discussion: "Default: the API's port + 10 (7710), or any free port when the API's is 0."))
    var lighthousePort: String?

    @Option(help: "Requests a second each token may make, in bursts of up to twice that; past it the answer is 429. 0: no budget.")
    var tokenRate: Int = 1000

    @Option(help: "Close a connection that sends no complete request head this long after it opened or after its last answer (5s, 1m).")
    var idleTimeout: String = "75s"

    func validate() throws {
        guard (0...1_000_000).contains(tokenRate) else { throw ValidationError("--token-rate must be 0 to 1000000, got \(tokenRate)") }
        guard let idle = DurationValue(parsing: idleTimeout), idle.milliseconds >= 1000, idle.seconds <= 86400 else {
            throw ValidationError("--idle-timeout must be a duration from 1s to 24h, got '\(idleTimeout)'")
        }
    }

    func run() async throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw CLIError("--listen must be HOST:PORT, got '\(listen)'")
        }
        let host = String(listen[..<colon])
        var directory = data
        if let store {
            guard store.hasPrefix("sqlite:") else {
                throw CLIError("--store \(store): only sqlite:DIR is supported by this build")
            }
            directory = String(store.dropFirst("sqlite:".count))
        }
        var lighthouse: Int? = port == 0 ? 0 : port + 10
        if let lighthousePort {
            if lighthousePort == "off" {
                lighthouse = nil
            } else {
                guard let number = Int(lighthousePort), (0...65535).contains(number) else {
                    throw CLIError("--lighthouse-port must be a port (0 to 65535) or 'off', got '\(lighthousePort)'")
                }
                lighthouse = number
            }
        }
        guard lighthouse.map({ $0 <= 65535 }) ?? true else { throw CLIError("--listen port \(port) leaves no default Lighthouse port: pass --lighthouse-port") }
        let configuration = ServerConfiguration(dataDirectory: URL(fileURLWithPath: directory), host: host, port: port,
                                                adminTokenFile: adminTokenFile, lighthousePort: lighthouse,
                                                tokenRate: tokenRate == 0 ? nil : Double(tokenRate),
                                                requestHeadTimeout: (DurationValue(parsing: idleTimeout) ?? .seconds(75)).swiftDuration)
        let opened: (plane: ControlPlane, adminToken: String?)
        do {
            opened = try await Server.open(configuration: configuration)
        } catch {
            throw CLIError("\(directory): cannot open the store: \(error)")
        }
        if let token = opened.adminToken {
            // Shown once: only its salted hash is stored.
            Terminal.stdout.write("admin token (shown once, store it safely): \(token)\n")
        }
        var logger = Logger(label: "intermesh")
        logger.logLevel = .notice
        let plane = opened.plane
        let shownDirectory = directory
        let app = Server.application(configuration: configuration, plane: plane, logger: logger) { [lighthouse] port in
            let shown = lighthouse == nil ? nil : await plane.lighthousePort.wait()
            let lighthouse = shown.map { ", Lighthouse (torchft) on \(host):\($0)" } ?? ""
            Terminal.stdout.write("intermesh serve: listening on http://\(host):\(port)\(lighthouse), data in \(shownDirectory)\n")
        }
        try await app.runService()
    }
}
