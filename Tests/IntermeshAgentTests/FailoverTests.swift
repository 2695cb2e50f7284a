import Foundation
import IntermeshAPI
import IntermeshAgent
import IntermeshClient
import TestServices
import Testing

/// Two `intermesh serve` processes on one PostgreSQL store, agents and replicas given both: killing or pausing the
/// active server loses nothing and stops no training.
@Suite(.serialized) struct FailoverTests {
    /// The servers, their logs and the agents of one run, in one `UpProcess` data directory (for its helpers).
    final class SharedStore {
        let up: UpProcess
        let ports: [Int]
        let url: String
        let passwordFile: URL
        var processes: [Int: Process] = [:]
        /// Whether the servers serve torchft's Lighthouse protocol (on the API's port + 10; plain gRPC, as the API is plain HTTP).
        let lighthouse: Bool

        init(ports: [Int], lighthouse: Bool = false) throws {
            up = UpProcess(port: ports[0])
            self.ports = ports
            self.lighthouse = lighthouse
            let cluster = try PostgresCluster.start()
            url = try cluster.createDatabase()
            passwordFile = up.data.appendingPathComponent("pgpass")
            try FileManager.default.createDirectory(at: up.data, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: passwordFile.path, contents: Data(cluster.password.utf8), attributes: [.posixPermissions: 0o600])
        }

        static let leaseTime = 3.0
        var servers: String { ports.map { "http://127.0.0.1:\($0)" }.joined(separator: ",") }
        func log(_ index: Int) -> URL { up.data.appendingPathComponent("serve-\(index).log") }
        func text(_ index: Int) -> String { (try? String(contentsOf: log(index), encoding: .utf8)) ?? "" }

        /// Starts server `index`; it becomes active or a standby.
        func start(_ index: Int) throws {
            let lighthouseFlags = lighthouse ? ["--lighthouse-port", "\(ports[index] + 10)"] : ["--lighthouse-port", "off"]
            processes[index] = try up.launch(["serve", "--data", up.data.appendingPathComponent("serve-\(index)").path,
                                              "--listen", "127.0.0.1:\(ports[index])", "--store", url, "--store-password-file", passwordFile.path,
                                              "--lease-time", "\(Int(Self.leaseTime))s",
                                              "--admin-token-file", up.data.appendingPathComponent("admin.token").path] + lighthouseFlags, log: log(index))
            try up.wait("server \(index) to listen", timeout: 30) { text(index).contains("listening on") || text(index).contains("standby on") }
        }

        /// The lease epochs server `index` has taken, in order.
        func epochs(_ index: Int) -> [Int] {
            text(index).matches(of: /active \(lease epoch (\d+)\)/).compactMap { Int($0.1) }
        }

        func client() -> APIClient { APIClient(server: servers, token: up.adminToken, environment: [:], timeout: .seconds(10)) }

        /// kill -9 the active server; returns its index and when it died.
        func killActive() async throws -> (index: Int, at: Date) {
            // A standby that started a moment ago may not know the active server yet: ask until one is named.
            var named: Int?
            try await up.wait("a server to name the active one", timeout: 30) {
                let info = try await client().serverInfo()
                named = ports.firstIndex { info.active == "http://127.0.0.1:\($0)" }
                return named != nil
            }
            let index = try #require(named)
            let process = try #require(processes[index])
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return (index, Date())
        }

        /// Waits until another server than `killed` is active (a new epoch); returns its index and how long it took.
        func waitForTakeover(from killed: Int, epoch: Int, since: Date) async throws -> (index: Int, seconds: Double) {
            var found: Int?
            try await up.wait("a standby to take over", timeout: Self.leaseTime + 30) {
                found = ports.indices.first { $0 != killed && epochs($0).contains { $0 > epoch } }
                return found != nil
            }
            return (found!, Date().timeIntervalSince(since))
        }

        func startAgents(run: String, sites: [String] = ["alpha", "beta", "gamma"], environment: [String: String] = [:]) async throws {
            for site in sites {
                let token: TokenResponse = try await client().post("/v1/tokens", json: ["role": "agent", "run": run, "site": site])
                let directory = up.data.appendingPathComponent("agents/\(site)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                try token.token.write(to: directory.appendingPathComponent("agent.token"), atomically: true, encoding: .utf8)
                try up.launch(["agent", "--site", site, "--run", run, "--server", servers, "--token-file",
                               directory.appendingPathComponent("agent.token").path, "--state-dir", directory.path, "--stop-replicas-on-exit"],
                              log: directory.appendingPathComponent("agent.log"), environment: environment)
            }
        }

        /// Every outer step the replicas logged, by step: the parameter hashes reported for it.
        func hashes(replicas: [(site: String, index: Int)] = [("alpha", 0), ("beta", 0), ("gamma", 0)]) -> [Int: Set<String>] {
            var out: [Int: Set<String>] = [:]
            for (site, index) in replicas {
                for event in up.log(site: site, index: index) where event["event"] as? String == "outer" {
                    guard let step = event["outer_step"] as? Int, let hash = event["hash"] as? String else { continue }
                    out[step, default: []].insert(hash)
                }
            }
            return out
        }

        /// Outer steps a site completed, in order, with the size of each one's quorum.
        func steps(site: String) -> [(step: Int, quorum: Int)] {
            up.outerEvents(site: site).compactMap { event in
                guard let step = event["outer_step"] as? Int, let quorum = event["quorum"] as? [String] else { return nil }
                return (step, quorum.count)
            }
        }

        func stopAll() {
            for (_, process) in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
            for pid in up.processes() { kill(pid, SIGTERM) }
            let deadline = Date().addingTimeInterval(20)
            while !up.processes().isEmpty && Date() < deadline { usleep(200_000) }
            up.cleanUp()
        }
    }

    /// What the store acknowledged: revisions with their hashes, and events by id.
    func acknowledged(_ client: APIClient, runs: [String]) async throws -> (revisions: Set<String>, events: Set<Int64>) {
        var revisions: Set<String> = [], events: Set<Int64> = []
        for run in runs {
            for revision in try await client.revisions(of: run) { revisions.insert("\(run)#\(revision.number)=\(revision.contentHash)") }
            for event in try await client.events(of: run) { events.insert(event.id) }
        }
        return (revisions, events)
    }

    @Test func killingTheActiveServerAtAnyMomentLosesNothingAndTrainingGoesOn() async throws {
        let mesh = try SharedStore(ports: [7761, 7762])
        defer { mesh.stopAll() }
        try mesh.start(0)
        try mesh.start(1)
        #expect(mesh.epochs(0) == [1] && mesh.epochs(1).isEmpty, "the first server is active, the second a standby")
        let client = mesh.client()
        let spec = try localSpec(replacing: [("innerSteps: 50", "innerSteps: 25")])
        _ = try await client.apply(spec: try String(contentsOfFile: spec, encoding: .utf8))
        try await mesh.startAgents(run: "local-demo")

        // 1. At outer step 3.
        try await mesh.up.wait("outer step 3", timeout: 180) { try await client.members(of: "local-demo").filter { $0.outerStep >= 3 }.count == 3 }
        var before = try await acknowledged(client, runs: ["local-demo"])
        var killed = try await mesh.killActive()
        var takeover = try await mesh.waitForTakeover(from: killed.index, epoch: 1, since: killed.at)
        print("failover at outer step 3: \(String(format: "%.2f", takeover.seconds)) s from kill -9 to the standby active (lease \(SharedStore.leaseTime) s)")
        // The member table matches the plan again: every slot has a member that heartbeated to the new active server.
        let tookOver = Date()
        try await mesh.up.wait("the member table to match the plan", timeout: 30) {
            let members = try await client.members(of: "local-demo").filter { !$0.leaving && $0.lastHeartbeat > tookOver }
            return Set(members.map(\.slot)) == ["alpha/0", "beta/0", "gamma/0"] && members.count == 3
        }
        print("member table matched the plan with fresh heartbeats \(String(format: "%.2f", Date().timeIntervalSince(tookOver))) s after the takeover")
        #expect(client.server == "http://127.0.0.1:\(mesh.ports[takeover.index])")
        var after = try await acknowledged(client, runs: ["local-demo"])
        #expect(before.revisions.isSubset(of: after.revisions))
        #expect(before.events.isSubset(of: after.events))
        let stepAtKill = mesh.hashes().keys.max() ?? 0
        try await mesh.up.wait("two more outer steps after the takeover", timeout: 120) { (mesh.hashes().keys.max() ?? 0) >= stepAtKill + 2 }

        // 2. During a burst of applies: every apply answered is in the store afterwards.
        try mesh.start(killed.index)
        let burst = Task {
            var answered: [String] = []
            for index in 0..<40 {
                let text = try String(contentsOfFile: spec, encoding: .utf8).replacingOccurrences(of: "name: local-demo", with: "name: burst-\(index)")
                if let applied = try? await client.apply(spec: text) { answered.append("burst-\(index)#\(applied.revision)") }
            }
            return answered
        }
        try await Task.sleep(for: .milliseconds(300))
        let epoch = (mesh.epochs(0) + mesh.epochs(1)).max() ?? 0
        killed = try await mesh.killActive()
        takeover = try await mesh.waitForTakeover(from: killed.index, epoch: epoch, since: killed.at)
        print("failover during an apply burst: \(String(format: "%.2f", takeover.seconds)) s")
        let answered = try await burst.value
        #expect(answered.count >= 20, "most applies went through, before or after the takeover: \(answered.count)")
        let stored = try await client.runs().map(\.name)
        for entry in answered {
            let run = String(entry.split(separator: "#")[0])
            #expect(stored.contains(run), "\(entry) was acknowledged but is not in the store")
        }

        // 3. During a rollout: it finishes under the new active server, with every replica on the new revision.
        try mesh.start(killed.index)
        let changed = try String(contentsOfFile: spec, encoding: .utf8).replacingOccurrences(of: "lr: 0.7", with: "lr: 0.6")
        let rollout = try await client.apply(spec: changed)
        #expect(rollout.revision == 2)
        before = try await acknowledged(client, runs: ["local-demo"])
        try await Task.sleep(for: .seconds(1))
        let midway = try await client.rolloutStatus(of: "local-demo")
        killed = try await mesh.killActive()
        takeover = try await mesh.waitForTakeover(from: killed.index, epoch: (mesh.epochs(0) + mesh.epochs(1)).max() ?? 0, since: killed.at)
        print("failover during a rollout (\(midway.rollout?.phase.rawValue ?? "none")): \(String(format: "%.2f", takeover.seconds)) s")
        try await mesh.up.wait("the rollout to finish", timeout: 180) {
            let status = try await client.rolloutStatus(of: "local-demo")
            let members = try await client.members(of: "local-demo")
            return status.rollout?.revision == 2 && status.rollout?.phase == .complete && members.allSatisfy { $0.activeRevision == 2 }
        }
        after = try await acknowledged(client, runs: ["local-demo"])
        #expect(before.revisions.isSubset(of: after.revisions))
        #expect(before.events.isSubset(of: after.events))

        // Through all of it: every outer step's parameters are identical on every replica that took part, no replica
        // skipped a step, and at most one step per kill went without a full quorum.
        let hashes = mesh.hashes()
        #expect(hashes.count >= 6)
        for (step, set) in hashes { #expect(set.count == 1, "outer step \(step) has \(set.count) different parameter hashes") }
        for site in ["alpha", "beta", "gamma"] {
            let steps = mesh.steps(site: site)
            #expect(steps.map(\.step) == Array(1...(steps.last?.step ?? 0)), "\(site) skipped outer steps: \(steps.map(\.step))")
            #expect(steps.filter { $0.quorum < 3 }.count <= 3, "\(site): \(steps)")
        }
    }

    @Test func aPausedActiveServerIsFencedWhenItWakesAndClientsMoveOn() async throws {
        let mesh = try SharedStore(ports: [7763, 7764])
        defer { mesh.stopAll() }
        try mesh.start(0)
        try mesh.start(1)
        let client = mesh.client()
        let spec = try localSpec(replacing: [("innerSteps: 50", "innerSteps: 25")])
        _ = try await client.apply(spec: try String(contentsOfFile: spec, encoding: .utf8))
        try await mesh.startAgents(run: "local-demo")
        try await mesh.up.wait("outer step 2", timeout: 180) { try await client.members(of: "local-demo").filter { $0.outerStep >= 2 }.count == 3 }

        // Paused past its lease (a long GC, a frozen VM): the standby takes over.
        let paused = try #require(mesh.processes[0])
        kill(paused.processIdentifier, SIGSTOP)
        let takeover = try await mesh.waitForTakeover(from: 0, epoch: 1, since: Date())
        #expect(takeover.index == 1)
        let stepAtTakeover = mesh.hashes().keys.max() ?? 0
        try await mesh.up.wait("an outer step under the new active server", timeout: 120) { (mesh.hashes().keys.max() ?? 0) > stepAtTakeover }

        // Resumed, the old one answers nothing and writes nothing: it finds its lease gone and exits.
        let eventsBefore = try await client.events(of: "local-demo").count
        kill(paused.processIdentifier, SIGCONT)
        let direct = APIClient(server: "http://127.0.0.1:\(mesh.ports[0])", token: mesh.up.adminToken, environment: [:], timeout: .seconds(5))
        do {
            _ = try await direct.describe(run: "local-demo")
            Issue.record("the paused server answered after its lease ended")
        } catch let error as APIClientError {
            #expect(error.status == 503 || error.status == 0, "\(error)")
        }
        try await mesh.up.wait("the old server to exit", timeout: 30) { !paused.isRunning }
        #expect(paused.terminationStatus == 75)
        #expect(mesh.text(0).contains("not active any more"))
        #expect(try await client.serverInfo().epoch == 2)
        #expect(try await client.events(of: "local-demo").count >= eventsBefore)
        #expect(client.server == "http://127.0.0.1:\(mesh.ports[1])")
        let hashes = mesh.hashes()
        for (step, set) in hashes { #expect(set.count == 1, "outer step \(step) has \(set.count) different parameter hashes") }
    }

    /// torchft groups keep one Lighthouse address for their whole life: their agents' relay, which follows the
    /// active server. A kill -9 of the active server costs them a retried quorum call, not a relaunch.
    @Test func torchftGroupsFollowTheActiveServerThroughTheirAgentsRelay() async throws {
        let mesh = try SharedStore(ports: [7765, 7766], lighthouse: true)
        defer { mesh.stopAll() }
        try mesh.start(0)
        try mesh.start(1)
        let client = mesh.client()
        // A pause of 2 s between retried quorum calls (torchft waits its quorum timeout / (retries + 1)).
        let spec = try String(contentsOf: UpProcess.root.appendingPathComponent("specs/torchft-local.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "      OMP_NUM_THREADS: \"1\"\n", with: "      OMP_NUM_THREADS: \"1\"\n      TORCHFT_QUORUM_RETRIES: \"60\"\n")
        #expect(spec.contains("TORCHFT_QUORUM_RETRIES"))
        _ = try await client.apply(spec: spec)
        let venv = UpProcess.root.appendingPathComponent(".venv/bin").path
        try #require(FileManager.default.isExecutableFile(atPath: venv + "/torchrun"), "torch and torchft: run scripts/setup.sh")
        try await mesh.startAgents(run: "torchft-demo", sites: ["alpha", "beta"],
                                   environment: ["PATH": venv + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")])
        let groups: [(site: String, index: Int)] = [("alpha", 0), ("alpha", 1), ("beta", 0)]
        func steps(_ group: (site: String, index: Int)) -> [Int] {
            mesh.up.log(site: group.site, index: group.index).filter { $0["event"] as? String == "outer" }.compactMap { $0["outer_step"] as? Int }
        }
        try await mesh.up.wait("every group at outer step 2", timeout: 240) { groups.allSatisfy { (steps($0).max() ?? 0) >= 2 } }

        let killed = try await mesh.killActive()
        let stepAtKill = groups.map { steps($0).max() ?? 0 }.max() ?? 0
        let takeover = try await mesh.waitForTakeover(from: killed.index, epoch: 1, since: killed.at)
        print("torchft: failover \(String(format: "%.2f", takeover.seconds)) s from kill -9 to the standby active")
        try await mesh.up.wait("every group 3 outer steps past the kill", timeout: 180) {
            groups.allSatisfy { (steps($0).max() ?? 0) >= stepAtKill + 3 }
        }
        print("torchft: every group 3 outer steps past the kill \(String(format: "%.2f", Date().timeIntervalSince(killed.at))) s after it")

        // No group was relaunched: one incarnation each, one start each, and its agent's relay moved to the new server.
        for site in ["alpha", "beta"] {
            let state = try AgentState.load(from: mesh.up.data.appendingPathComponent("agents/\(site)"))
            #expect(state.incarnations.values.allSatisfy { $0 == 1 }, "\(site): \(state.incarnations)")
            let agentLog = (try? String(contentsOf: mesh.up.data.appendingPathComponent("agents/\(site)/agent.log"), encoding: .utf8)) ?? ""
            #expect(agentLog.contains("to 127.0.0.1:\(mesh.ports[takeover.index] + 10)"), "\(site)'s relay follows the new server:\n\(agentLog.suffix(1500))")
        }
        for group in groups {
            let starts = mesh.up.log(site: group.site, index: group.index).filter { $0["event"] as? String == "start" }
            #expect(starts.count == 1, "\(group.site)/\(group.index) started \(starts.count) times")
            let steps = steps(group)
            #expect(steps == Array(1...(steps.last ?? 0)), "\(group.site)/\(group.index) skipped outer steps: \(steps)")
        }
        let hashes = mesh.hashes(replicas: groups)
        #expect(hashes.count >= stepAtKill + 3)
        for (step, set) in hashes { #expect(set.count == 1, "outer step \(step) has \(set.count) different parameter hashes") }
    }
}
