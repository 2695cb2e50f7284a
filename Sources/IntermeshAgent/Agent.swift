#if canImport(Glibc)
import Glibc
#endif
import Foundation
import IntermeshAPI
import IntermeshClient
import IntermeshPlan
import IntermeshSpec
import IntermeshTLS

/// How an agent runs: which site of which run, where its control plane and its state are.
public struct AgentConfiguration: Sendable {
    public var run: String
    public var site: String
    public var server: String
    public var token: String
    /// Rendered plans, replica logs, checkpoints and `agent.json`.
    public var stateDirectory: URL
    /// The directory replicas start in (relative data paths of the spec start there).
    public var workingDirectory: URL
    /// Where the `intermesh-trainer` and other sibling programs are; put first on the replicas' PATH.
    public var programDirectory: String?
    public var templates: String?
    /// How long a drained replica may take to contribute its last outer step before it gets SIGTERM.
    public var drainGrace: Double = 60
    /// How long after SIGTERM before SIGKILL.
    public var killGrace: Double = 10
    public var tick: Double = 0.5
    /// On SIGTERM or SIGINT, stop the replicas too (as `intermesh up` wants); by default they keep training.
    public var stopReplicasOnExit = false
    /// With several servers: the address of the Lighthouse relay handed to torchft replicas (loopback: only those on
    /// this machine use it).
    public var lighthouseRelayHost = "127.0.0.1"
    /// The authority the control plane's certificate must chain to, and a client certificate for mutual TLS (default:
    /// `$INTERMESH_CA`, `$INTERMESH_CLIENT_CERT`, `$INTERMESH_CLIENT_KEY`). Replicas get the same.
    public var tls = ClientTLS(environment: ProcessInfo.processInfo.environment)

    public init(run: String, site: String, server: String, token: String, stateDirectory: URL, workingDirectory: URL) {
        self.run = run
        self.site = site
        self.server = server
        self.token = token
        self.stateDirectory = stateDirectory
        self.workingDirectory = workingDirectory
    }
}

extension AgentConfiguration {
    /// Where a replica (`SITE-INDEX`) writes its checkpoints, given the spec's `training.checkpoint.path`: from the state
    /// directory when relative (two agents or runs on one machine never share one), else under the run's name.
    public func checkpointDirectory(of replica: String, path: String) -> URL {
        let base = path.hasPrefix("/") ? URL(fileURLWithPath: path).appendingPathComponent(run) : stateDirectory.appendingPathComponent(path)
        return base.appendingPathComponent(replica)
    }
}

/// A site agent: launches the site's replicas as the control plane directs, supervises them, reports launches
/// and exits, stops what is no longer wanted, and survives both its own restart (it adopts its replicas) and
/// the control plane's absence (replicas keep training; it reconnects with backoff).
public final class Agent: @unchecked Sendable {
    let config: AgentConfiguration
    let client: APIClient
    var state = AgentState()
    /// Pids this incarnation of the agent started (it can reap them; adopted ones it can only watch).
    var children: Set<Int32> = []
    var launched: [LaunchReport] = []
    var exited: [ExitReport] = []
    /// When each slot's last process ended: a launch directive issued before that is stale.
    var lastEnded: [String: Date] = [:]
    var revision: Int?
    var plan: Plan?
    var revisionDirectory: URL?
    var phase = RunPhase.running
    /// The control plane's Lighthouse address for torchft engines (`http://HOST:PORT`), when it serves one.
    var lighthouse: String?
    /// With several servers: the relay torchft replicas on this machine reach the active server's Lighthouse through.
    var relay: LighthouseRelay?
    /// When the agent last heartbeat for its processes (engines with process liveness).
    var lastProcessBeat = Date.distantPast
    let say: @Sendable (String) -> Void

    public init(config: AgentConfiguration, say: @escaping @Sendable (String) -> Void) {
        self.config = config
        client = APIClient(server: config.server, token: config.token, timeout: .seconds(10), tls: config.tls)
        self.say = say
    }

    var site: String { config.site }
    var tokenFile: URL { config.stateDirectory.appendingPathComponent("token") }

    /// Runs until `shouldExit` says so.
    public func run(shouldExit: @Sendable () -> Bool) async throws {
        try prepare()
        let relaying = try await startRelay()
        defer {
            relay?.close()
            relaying?.cancel()
        }
        var nextContact = Date.distantPast
        var backoff = 1.0
        var unreachable = false
        while !shouldExit() {
            supervise()
            if Date() >= nextContact {
                do {
                    let response = try await contact()
                    if unreachable { say("control plane reachable again") }
                    unreachable = false
                    backoff = 1
                    try await act(on: response)
                    try await beatForProcesses()
                } catch let error as APIClientError where error.status == 0 || error.status >= 500 {
                    if !unreachable { say("control plane unreachable (\(error.message)); replicas keep running; retrying with backoff") }
                    unreachable = true
                    nextContact = Date().addingTimeInterval(backoff)
                    // With standbys, a takeover is due within the lease time: the agent (and its relay) follows it soon.
                    backoff = min(backoff * 2, client.servers.count > 1 ? 1 : 10)
                } catch {
                    say("error: \(error)")
                    nextContact = Date().addingTimeInterval(backoff)
                    backoff = min(backoff * 2, 10)
                }
            }
            try? await Task.sleep(for: .milliseconds(Int(config.tick * 1000)))
        }
        if config.stopReplicasOnExit { await stopAll(reason: "agent stopping") }
        save()
    }

    /// State directory, token file, the replicas of an earlier incarnation adopted and strays stopped.
    func prepare() throws {
        let fm = FileManager.default
        for sub in ["logs", "revisions", "checkpoints"] {
            try fm.createDirectory(at: config.stateDirectory.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        fm.createFile(atPath: tokenFile.path, contents: Data((config.token + "\n").utf8), attributes: [.posixPermissions: 0o600])
        state = try AgentState.load(from: config.stateDirectory)
        var kept: [ReplicaRecord] = []
        let jobs = SlurmJobs.states(state.replicas.compactMap(\.jobId)) ?? [:]
        for record in state.replicas {
            if let job = record.jobId, jobs[job] != nil {
                say("adopted \(record.slot) (member \(record.member), Slurm job \(job))")
                kept.append(record)
            } else if record.jobId == nil, let info = ReplicaProcess.ProcStat(pid: record.pid), info.startTime == record.startTime, info.state != "Z" {
                say("adopted \(record.slot) (member \(record.member), pid \(record.pid))")
                kept.append(record)
            } else {
                say("\(record.slot) (member \(record.member)) ended while the agent was away")
                exited.append(ExitReport(slot: record.slot, member: record.member, code: nil, signal: nil,
                                         lastLines: ReplicaProcess.tail(record.log, lines: 5)))
                lastEnded[record.slot] = Date()
            }
        }
        state.replicas = kept
        stopStrays()
        save()
    }

    /// Replica processes of this state directory that no record knows (started just before the agent died, or left
    /// behind by a leader that ended): stopped.
    func stopStrays() {
        let known = Set(state.replicas.map(\.member))
        let mine = config.stateDirectory.path
        let strays = ReplicaProcess.groupLeaders { environment in
            environment["INTERMESH_AGENT_DIR"] == mine && environment["INTERMESH_MEMBER_ID"].map { !known.contains($0) } ?? false
        }
        for (pid, environment) in strays {
            say("stopping stray replica process \(pid) (member \(environment["INTERMESH_MEMBER_ID"] ?? "?")): no record of it")
            ReplicaProcess.signalGroup(pid, SIGKILL)
        }
    }

    /// Stops every replica process and cancels every Slurm job started by the agents whose state directories are
    /// under `directory` (what `up`, which owns them, does once its agents are gone: an agent killed before it could
    /// stop its replicas leaves them running). Returns a line for each.
    public static func stopLeftovers(under directory: URL) -> [String] {
        let prefix = directory.standardizedFileURL.path + "/"
        var stopped: [String] = []
        for (pid, environment) in ReplicaProcess.groupLeaders(where: { $0["INTERMESH_AGENT_DIR"]?.hasPrefix(prefix) ?? false }) {
            ReplicaProcess.signalGroup(pid, SIGKILL)
            stopped.append("process \(pid) of \(environment["INTERMESH_SLOT"] ?? "?")")
        }
        let sites = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let jobs = sites.flatMap { site in
            ((try? AgentState.load(from: directory.appendingPathComponent(site)))?.replicas ?? []).compactMap { record in
                record.jobId.map { ($0, record.slot) }
            }
        }
        let queued = SlurmJobs.states(jobs.map(\.0)) ?? [:]
        for (job, slot) in jobs where queued[job] != nil {
            SlurmJobs.signal(job, SIGKILL)
            stopped.append("Slurm job \(job) of \(slot)")
        }
        return stopped
    }

    func save() {
        do {
            try state.save(to: config.stateDirectory)
        } catch {
            say("error: cannot save agent state: \(error)")
        }
    }

    /// Reaps ended replicas and escalates stops that take too long.
    func supervise() {
        let now = Date()
        var changed = false
        var anyEnded = false
        // One squeue for every Slurm job; when it fails (the controller is away) jobs count as running.
        let ids = state.replicas.compactMap(\.jobId)
        let jobs = ids.isEmpty ? [:] : SlurmJobs.states(ids)
        for (position, record) in state.replicas.enumerated().reversed() {
            var ended: (code: Int32?, signal: Int32?)?
            if let job = record.jobId {
                if let jobs, jobs[job] == nil { ended = SlurmJobs.exit(job) }
            } else if children.contains(record.pid) {
                ended = ReplicaProcess.reap(record.pid)
            } else if !ReplicaProcess.isRunning(record.pid) {
                ended = (nil, nil)
            }
            if let ended {
                if record.jobId == nil {
                    children.remove(record.pid)
                    // Ranks left behind by a leader that died go with it.
                    ReplicaProcess.signalGroup(record.pid, SIGKILL)
                }
                let how = ExitReport.describe(code: ended.code, signal: ended.signal)
                say("\(record.slot) (member \(record.member)) \(how)" + (record.stopReason.map { " after a stop: \($0)" } ?? ""))
                exited.append(ExitReport(slot: record.slot, member: record.member, code: ended.code, signal: ended.signal,
                                         lastLines: ReplicaProcess.tail(record.log, lines: 5)))
                lastEnded[record.slot] = now
                state.replicas.remove(at: position)
                changed = true
                anyEnded = true
                continue
            }
            if let asked = record.stopRequestedAt, record.terminatedAt == nil, now.timeIntervalSince(asked) > config.drainGrace {
                signal(record, SIGTERM)
                state.replicas[position].terminatedAt = now
                changed = true
            } else if let terminated = record.terminatedAt, now.timeIntervalSince(terminated) > config.killGrace {
                signal(record, SIGKILL)
            }
        }
        // A leader can leave processes in sessions of their own behind (torchrun starts its workers so): they carry
        // the member's id in their environment and go with it.
        if anyEnded { stopStrays() }
        if changed { save() }
    }

    /// Reports launches and exits; the answer carries the active revision and the site's directives.
    func contact() async throws -> AgentResponse {
        var report = AgentReport(launched: launched, exited: exited)
        if let plan, let revision {
            report.pendingRestarts = changedReplicas(plan: plan).count
            report.revision = revision
        }
        let sent = (launched.count, exited.count)
        let response = try await client.report(run: config.run, site: site, report)
        launched.removeFirst(sent.0)
        exited.removeFirst(sent.1)
        updateLighthouse(port: response.lighthousePort)
        return response
    }

    /// With several servers, a relay (on `--lighthouse-relay`, loopback by default; on its port of before a restart
    /// when free) that replicas use as their Lighthouse, so that they follow the active server without a relaunch.
    func startRelay() async throws -> Task<Void, Never>? {
        guard client.servers.count > 1 else { return nil }
        let relay = try await LighthouseRelay(host: config.lighthouseRelayHost, preferredPort: state.lighthouseRelayPort)
        if let earlier = state.lighthouseRelayPort, earlier != relay.port {
            say("Lighthouse relay: port \(earlier) is taken; replicas launched before this restart lose their Lighthouse until relaunched")
        }
        state.lighthouseRelayPort = relay.port
        save()
        self.relay = relay
        return Task { await relay.run() }
    }

    /// The Lighthouse of the server that answered (its host, the port it announced); the relay is pointed at it.
    func updateLighthouse(port: Int?) {
        let address = port.flatMap { LighthouseAddress(server: client.server, port: $0) }
        lighthouse = address?.url
        if let relay, relay.retarget(address), let address { say("Lighthouse relay \(relay.url) to \(address)") }
    }

    /// The Lighthouse a replica is handed: the relay when the replica runs on this machine (it reaches loopback), else
    /// the active server's own, which it keeps until relaunched.
    func lighthouse(for replica: ReplicaPlan, launcher: LauncherSpec.Kind) -> String? {
        guard let lighthouse else { return nil }
        guard let relay, relay.reaches(host: replica.host, launcher: launcher) else { return lighthouse }
        return relay.url
    }

    /// For engines that speak nothing (`membership: process`): one heartbeat for every process this agent supervises that
    /// is alive and not stopping, at the run's heartbeat interval. A process that ends is reported as an exit instead.
    func beatForProcesses() async throws {
        guard let plan, plan.membership == .process, phase == .running else { return }
        let interval = plan.run.spec.faultPolicy.heartbeatInterval.seconds
        guard Date().timeIntervalSince(lastProcessBeat) >= interval else { return }
        let beats = state.replicas.filter { $0.stopRequestedAt == nil }.map { record in
            MemberBeat(id: record.member, slot: record.slot, incarnation: record.incarnation, state: .training,
                       revision: record.contentHash, acknowledged: record.revision, activeRevision: record.revision)
        }
        lastProcessBeat = Date()
        guard !beats.isEmpty else { return }
        let answer = try await client.heartbeat(run: config.run, site: site, HeartbeatBody(members: beats))
        for member in answer.replaced ?? [] { requestStop(member, reason: "lost and replaced", drain: false) }
    }
}
