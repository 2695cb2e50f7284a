import ArgumentParser
import Foundation
import IntermeshAPI
import IntermeshAgent
import IntermeshClient
import IntermeshPlan
import IntermeshServer
import IntermeshSpec
import IntermeshTLS
import Logging
import ServiceLifecycle

/// `intermesh up FILE`: a whole run on this machine: an embedded control plane, the spec applied, one agent per
/// site, and a live view; `--outer-steps N` ends it with a summary, Ctrl-C stops everything.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run a spec on this machine: control plane, agents, replicas and a live view.")

    @Argument(help: "The run spec.")
    var file: String

    @Option(help: "Data directory: the store, agents' state, replica logs and checkpoints (default: intermesh-data/<run>).")
    var data: String?

    @Option(help: "Address of the embedded control plane, HOST:PORT.")
    var listen: String = "127.0.0.1:7700"

    @Option(help: "Stop after this many outer steps and print a summary.")
    var outerSteps: Int?

    @Flag(help: "Start from scratch: remove the data directory of an earlier `up` first (otherwise the run resumes).")
    var fresh = false

    @Flag(help: ArgumentHelp("Serve plain HTTP, on loopback only.",
                             discussion: "By default the control plane serves TLS with a certificate of an authority of this data directory (tls/)."))
    var plainHttp = false

    func run() async throws {
        if let outerSteps, outerSteps < 1 { throw CLIError("--outer-steps must be at least 1") }
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (1...65535).contains(port) else {
            throw CLIError("--listen must be HOST:PORT, got '\(listen)'")
        }
        let host = String(listen[..<colon])
        if plainHttp, !ServeCommand.isLoopback(host) { throw CLIError("--plain-http serves loopback only; --listen \(listen) is beyond it") }
        let (loaded, _) = try SpecFile.load(file)
        guard let run = loaded.validRun else { throw CLIError("\(file): not applied: the spec has errors", code: 1) }
        guard let specText = try? String(contentsOfFile: file, encoding: .utf8) else { throw CLIError("\(file): cannot read") }
        let cwd = FileManager.default.currentDirectoryPath
        let dataPath = data ?? "intermesh-data/\(run.metadata.name)"
        let dataDirectory = URL(fileURLWithPath: dataPath.hasPrefix("/") ? dataPath : cwd + "/" + dataPath).standardizedFileURL
        if fresh, FileManager.default.fileExists(atPath: dataDirectory.path) {
            // Only a directory that `up` made: never an arbitrary one named by mistake.
            guard FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("store").path) else {
                throw CLIError("\(dataDirectory.path): --fresh removes only a data directory of intermesh up (this one has no store/)")
            }
            try? FileManager.default.removeItem(at: dataDirectory)
        }
        let session = try await UpSession.start(
            run: run, specText: specText, dataDirectory: dataDirectory, host: host, port: port, tls: !plainHttp,
            workingDirectory: URL(fileURLWithPath: cwd))
        let code = await session.watch(outerSteps: outerSteps)
        if code != 0 { throw ExitCode(code) }
    }
}

/// One `intermesh up`: the embedded control plane and the agent processes it supervises. Past the bootstrap it
/// shares with `serve`, `up` is an ordinary client of its control plane: everything goes through `/v1`.
final class UpSession: @unchecked Sendable {
    let run: TrainingRun
    let client: APIClient
    let group: ServiceGroup
    let serverTask: Task<Void, Error>
    let dataDirectory: URL
    let workingDirectory: URL
    let server: String
    /// What the agents and their replicas trust: the data directory's authority, unless `--plain-http`.
    let trust: ClientTLS
    let out = Terminal.stdout
    var agents: [String: AgentProcess] = [:]
    let stop = StopSignal()
    let view: UpView

    struct AgentProcess {
        var pid: Int32
        var startedAt: Date
        var restarts: Int
    }

    init(run: TrainingRun, client: APIClient, group: ServiceGroup, serverTask: Task<Void, Error>, dataDirectory: URL,
         workingDirectory: URL, server: String, trust: ClientTLS) {
        self.run = run
        self.client = client
        self.group = group
        self.serverTask = serverTask
        self.dataDirectory = dataDirectory
        self.workingDirectory = workingDirectory
        self.server = server
        self.trust = trust
        view = UpView(terminal: Terminal.stdout)
    }

    static func start(run: TrainingRun, specText: String, dataDirectory: URL, host: String, port: Int, tls: Bool,
                      workingDirectory: URL) async throws -> UpSession {
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: dataDirectory.appendingPathComponent("agents"), withIntermediateDirectories: true)
        } catch {
            throw CLIError("\(dataDirectory.path): cannot create the data directory: \(error.localizedDescription)")
        }
        let storeDirectory = dataDirectory.appendingPathComponent("store")
        let adminFile = dataDirectory.appendingPathComponent("admin.token").path
        var configuration = ServerConfiguration(dataDirectory: storeDirectory, host: host, port: port, adminTokenFile: adminFile, embedded: true,
                                                lighthousePort: 0)
        var trust = ClientTLS()
        if tls {
            let (serverTLS, authority) = try Self.certificates(in: dataDirectory.appendingPathComponent("tls"), host: host)
            configuration.tls = serverTLS
            trust = ClientTLS(caFile: authority)
            // torchft's client speaks no TLS; the endpoint is on this machine's --listen address like the API.
            configuration.lighthousePlaintext = true
        }
        let plane: ControlPlane
        do {
            plane = try await Server.open(configuration: configuration).plane
        } catch {
            throw CLIError("\(storeDirectory.path): cannot open the store: \(error)")
        }
        var logger = Logger(label: "intermesh")
        logger.logLevel = .critical
        let listening = AsyncStream<Int>.makeStream()
        let app = try Server.application(configuration: configuration, plane: plane, logger: logger) { port in
            listening.continuation.yield(port)
            listening.continuation.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let serverTask = Task {
            defer {
                // Ends the wait below when the server stops (or never started: a port in use).
                listening.continuation.yield(-1)
                listening.continuation.finish()
            }
            try await group.run()
        }
        var listeningOn = -1
        for await port in listening.stream {
            listeningOn = port
            break
        }
        guard listeningOn > 0 else { throw CLIError("cannot listen on \(host):\(port) (is another control plane running there?)") }
        let server = "\(tls ? "https" : "http")://\(host):\(listeningOn)"
        guard let admin = try? String(contentsOfFile: adminFile, encoding: .utf8) else {
            await group.triggerGracefulShutdown()
            throw CLIError("\(adminFile): cannot read the admin token")
        }
        let client = APIClient(server: server, token: admin.trimmingCharacters(in: .whitespacesAndNewlines), environment: [:], tls: trust)
        let applied: ApplyResponse
        do {
            applied = try await client.apply(spec: specText)
            // A run stopped by an earlier `up` in this data directory trains again.
            if try await client.describe(run: run.metadata.name).phase != .running { _ = try await client.resume(run: run.metadata.name) }
        } catch let error as APIClientError {
            await group.triggerGracefulShutdown()
            throw CLIError("not applied: \(error)", code: error.exitCode)
        }
        let signIn = await plane.signInCodes.mint(token: admin.trimmingCharacters(in: .whitespacesAndNewlines))
        let session = UpSession(run: run, client: client, group: group, serverTask: serverTask, dataDirectory: dataDirectory,
                                workingDirectory: workingDirectory, server: server, trust: trust)
        session.out.write("intermesh up: control plane on \(server), data in \(dataDirectory.path)\n")
        session.out.write("intermesh up: run \(applied.run) revision \(applied.revision) (\(applied.outcome.rawValue)); admin token in \(adminFile)\n")
        session.out.write("intermesh up: console at \(server)/ (sign in once, within 10 minutes, with \(server)/console/sign-in?code=\(signIn))\n")
        let authority = trust.caFile.map { "INTERMESH_CA=\(ShellQuote.quote($0)) " } ?? ""
        session.out.write("intermesh up: from another terminal: INTERMESH_SERVER=\(server) \(authority)intermesh diff \(applied.run) --token-file \(ShellQuote.quote(adminFile))\n")
        return session
    }

    /// Supervises agents and redraws the view until the outer-step goal, Ctrl-C, or a failed run; returns the exit code.
    func watch(outerSteps: Int?) async -> Int32 {
        let name = run.metadata.name
        var code: Int32 = 0
        var firstStep: Int?
        var recent: [EventRecord] = []
        var cursor: Int64 = 0
        while true {
            if stop.raised {
                out.write("\nintermesh up: stopping (Ctrl-C)\n")
                break
            }
            do {
                try await superviseAgents()
                let snapshot = try await UpSnapshot.take(client: client, run: name, recent: &recent, cursor: &cursor)
                if firstStep == nil { firstStep = snapshot.outerStep }
                view.draw(snapshot)
                if snapshot.phase == .failed {
                    out.write("intermesh up: the run failed\n")
                    code = 1
                    break
                }
                // Draining asks members to leave after the step they are training: start it one step before the goal.
                if let outerSteps, snapshot.outerStep >= (firstStep ?? 0) + outerSteps - 1 {
                    view.finish()
                    out.write("intermesh up: draining: replicas leave after outer step \((firstStep ?? 0) + outerSteps)\n")
                    try await drain()
                    break
                }
            } catch {
                out.write("intermesh up: error: \(error)\n")
            }
            try? await Task.sleep(for: .milliseconds(1000))
        }
        view.finish()
        await stopAgents()
        if outerSteps != nil || code != 0 {
            out.write(UpSummary.collect(dataDirectory: dataDirectory, events: await allEvents()).render())
        }
        await group.triggerGracefulShutdown()
        _ = try? await serverTask.value
        return code
    }

    /// Stops the run: every member contributes its current outer step and leaves; waits up to a minute for them.
    func drain() async throws {
        let name = run.metadata.name
        _ = try await client.stop(run: name)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            try await superviseAgents(startNew: false)
            if try await client.members(of: name).isEmpty { return }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Starts an agent for every site of the active plan that has none, and restarts agents that died.
    func superviseAgents(startNew: Bool = true) async throws {
        for (site, agent) in agents {
            if let ended = ReplicaProcess.reap(agent.pid) {
                let how = ExitReport.describe(code: ended.code, signal: ended.signal)
                out.write("intermesh up: agent \(site) \(how); restarting it\n")
                agents[site] = nil
                try startAgent(site: site, restarts: agent.restarts + 1)
            }
        }
        guard startNew else { return }
        for site in try await client.describe(run: run.metadata.name).sites where agents[site.name] == nil { try await issueAndStart(site: site.name) }
    }

    func agentDirectory(_ site: String) -> URL {
        dataDirectory.appendingPathComponent("agents").appendingPathComponent(site)
    }

    /// Issues the site's agent token (stored as a salted hash; the file is mode 0600) and starts its agent.
    func issueAndStart(site: String) async throws {
        let directory = agentDirectory(site)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let tokenFile = directory.appendingPathComponent("agent.token").path
        if !FileManager.default.fileExists(atPath: tokenFile) {
            let issued = try await client.createToken(TokenRequest(role: .agent, run: run.metadata.name, site: site, description: "intermesh up agent"))
            _ = FileManager.default.createFile(atPath: tokenFile, contents: Data((issued.token + "\n").utf8), attributes: [.posixPermissions: 0o600])
        }
        try startAgent(site: site, restarts: 0)
    }

    func startAgent(site: String, restarts: Int) throws {
        let directory = agentDirectory(site)
        guard let program = AgentCommand.programPath else {
            throw CLIError("cannot find this program to start agents")
        }
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("INTERMESH_") }
        environment["INTERMESH_SERVER"] = server
        if let authority = trust.caFile { environment["INTERMESH_CA"] = authority }
        let arguments = ["agent", "--site", site, "--run", run.metadata.name, "--server", server,
                         "--token-file", directory.appendingPathComponent("agent.token").path, "--state-dir", directory.path,
                         "--workdir", workingDirectory.path, "--stop-replicas-on-exit", "--drain-grace", "30"]
        let pid = try ReplicaProcess.spawn(program, arguments, environment: environment, directory: workingDirectory.path,
                                           log: directory.appendingPathComponent("agent.log").path)
        agents[site] = AgentProcess(pid: pid, startedAt: Date(), restarts: restarts)
    }

    /// SIGTERM to every agent (they stop their replicas), SIGKILL after 20 s; then whatever an agent left behind.
    func stopAgents() async {
        for agent in agents.values { kill(agent.pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            for (site, agent) in agents where ReplicaProcess.reap(agent.pid) != nil { agents[site] = nil }
            if agents.isEmpty { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        for agent in agents.values { ReplicaProcess.signalGroup(agent.pid, SIGKILL) }
        stopLeftovers()
    }

    /// What agents killed before they could stop their replicas left running: `up` owns its data directory.
    func stopLeftovers() {
        for line in Agent.stopLeftovers(under: dataDirectory.appendingPathComponent("agents")) {
            out.write("intermesh up: stopped \(line), left behind by its agent\n")
        }
    }
}

extension UpSession {
    /// The run's whole event log, for the summary.
    func allEvents() async -> [EventRecord] {
        var events: [EventRecord] = []
        while let page = try? await client.events(of: run.metadata.name, after: events.last?.id ?? 0), !page.isEmpty {
            events += page
        }
        return events
    }
}

extension UpSession {
    /// The data directory's own authority (made on the first `up`, kept after) and a server certificate for the
    /// --listen host, issued afresh at every start; the server's TLS and the authority's certificate file.
    static func certificates(in directory: URL, host: String) throws -> (ServerTLS, String) {
        do {
            let authority = FileManager.default.fileExists(atPath: directory.appendingPathComponent(CertificateAuthority.certificateFile).path)
                ? try CertificateAuthority.load(from: directory) : try CertificateAuthority.create(in: directory, name: "Intermesh up CA")
            let hosts = [host, "127.0.0.1", "localhost"].reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            let issued = try authority.issue(name: "server", hosts: hosts, in: directory)
            return (ServerTLS(certificate: issued.certificate.path, key: issued.key.path, clientCA: nil),
                    directory.appendingPathComponent(CertificateAuthority.certificateFile).path)
        } catch {
            throw CLIError("\(directory.path): cannot make the TLS certificates: \(error)")
        }
    }
}
