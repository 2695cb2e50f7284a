import ArgumentParser
import Foundation
import Hummingbird
import IntermeshServer
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
        let configuration = ServerConfiguration(dataDirectory: URL(fileURLWithPath: directory), host: host, port: port,
                                                adminTokenFile: adminTokenFile)
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
        let app = Server.application(configuration: configuration, plane: plane, logger: logger) { port in
            Terminal.stdout.write("intermesh serve: listening on http://\(host):\(port), data in \(shownDirectory)\n")
        }
        try await app.runService()
    }
}
