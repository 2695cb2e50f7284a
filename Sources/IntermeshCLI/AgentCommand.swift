import ArgumentParser
import Foundation
import IntermeshAPI
import IntermeshAgent
import IntermeshTLS

/// `intermesh agent`: runs one site's replicas for the control plane.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Launch and supervise one site's replicas as the control plane directs.")

    @Option(help: "The site this agent runs.")
    var site: String

    @Option(help: "The run.")
    var run: String

    @Option(help: "Control plane URL, or several comma-separated (servers sharing a store: requests follow the active one) (default: $INTERMESH_SERVER, then http://127.0.0.1:7700).")
    var server: String?

    @Option(help: "File holding the agent token of this run and site (default: $INTERMESH_TOKEN_FILE; else $INTERMESH_TOKEN).")
    var tokenFile: String?

    @Option(help: "The authority (PEM) the server's TLS certificate must chain to (default: $INTERMESH_CA; else the system's). Replicas get it too.")
    var caFile: String?

    @Option(help: "State directory: rendered plans, replica logs, checkpoints, agent.json (default: intermesh-agent/<run>/<site>).")
    var stateDir: String?

    @Option(help: "Directory replicas start in (default: the current directory).")
    var workdir: String?

    @Option(help: "Templates directory (default: $INTERMESH_TEMPLATES, then templates/ beside the program or here).")
    var templates: String?

    @Option(help: "Seconds a drained replica may take to contribute its last outer step before SIGTERM.")
    var drainGrace: Double = 60

    @Flag(help: "Stop the replicas when the agent is stopped (SIGTERM or SIGINT); by default they keep training.")
    var stopReplicasOnExit = false

    @Option(help: "With several servers: the address torchft replicas reach the agent's Lighthouse relay on, which follows the active server. 127.0.0.1 (the default) serves replicas on this machine; an address of this machine the site's hosts reach serves them all (the relay, like the Lighthouse protocol, carries no credential).")
    var lighthouseRelay = "127.0.0.1"

    func run() async throws {
        // First: a SIGTERM from then on is a stop (with the replicas, under `up`), never an abrupt end.
        let stop = StopSignal()
        let environment = ProcessInfo.processInfo.environment
        for (name, value) in [("--site", site), ("--run", run)] where !Self.isName(value) {
            throw CLIError("\(name) '\(value)' must be letters, digits, '-', '_' or '.'")
        }
        var token = environment["INTERMESH_TOKEN"]
        if let file = tokenFile ?? environment["INTERMESH_TOKEN_FILE"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw CLIError("\(file): cannot read the token file") }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let token, !token.isEmpty else { throw CLIError("an agent token is needed: --token-file FILE or $INTERMESH_TOKEN") }
        guard drainGrace >= 0 else { throw CLIError("--drain-grace must not be negative") }
        let cwd = FileManager.default.currentDirectoryPath
        func absolute(_ path: String) -> URL {
            URL(fileURLWithPath: path.hasPrefix("/") ? path : cwd + "/" + path).standardizedFileURL
        }
        var configuration = AgentConfiguration(
            run: run, site: site, server: server ?? environment["INTERMESH_SERVER"] ?? "http://127.0.0.1:7700", token: token,
            stateDirectory: absolute(stateDir ?? "intermesh-agent/\(run)/\(site)"), workingDirectory: absolute(workdir ?? "."))
        configuration.programDirectory = Self.programDirectory
        configuration.templates = templates
        configuration.drainGrace = drainGrace
        configuration.stopReplicasOnExit = stopReplicasOnExit
        guard !lighthouseRelay.isEmpty, !["0.0.0.0", "::", "[::]"].contains(lighthouseRelay), !lighthouseRelay.contains(where: \.isWhitespace) else {
            throw CLIError("--lighthouse-relay must be an address of this machine its replicas reach (not a wildcard), got '\(lighthouseRelay)'")
        }
        configuration.lighthouseRelayHost = lighthouseRelay.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        // Absolute, since replicas start elsewhere: --ca-file, else $INTERMESH_CA, and the client certificate.
        let tls = ClientTLS(environment: environment)
        configuration.tls = ClientTLS(caFile: (caFile ?? tls.caFile).map { absolute($0).path }, certificate: tls.certificate.map { absolute($0).path },
                                      key: tls.key.map { absolute($0).path })
        let siteName = site
        let agent = Agent(config: configuration) { line in
            Terminal.stdout.write("\(Timestamps.format(Date())) agent \(siteName): \(line)\n")
        }
        do {
            try await agent.run(shouldExit: { stop.raised })
        } catch {
            throw CLIError("\(error)")
        }
    }

    static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 128 && text.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) }
    }

    /// This program's path (`up` starts agents with it).
    static var programPath: String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }

    /// The directory of this program, where its sibling `intermesh-trainer` is.
    static var programDirectory: String? {
        programPath.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
    }
}
