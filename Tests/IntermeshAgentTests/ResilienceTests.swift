import Foundation
import IntermeshAPI
import IntermeshClient
import IntermeshControl
import Testing

/// The agent and the control plane can die without taking the training down.
@Suite(.serialized) struct ResilienceTests {
    /// The pids of `intermesh agent` processes of a site of this data directory.
    func agentPids(_ up: UpProcess, site: String) -> [Int32] {
        up.processes().filter { pid in
            let cmdline = String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data(), as: UTF8.self)
                .replacingOccurrences(of: "\0", with: " ")
            return cmdline.contains(" agent --site \(site) ")
        }
    }

    @Test func aKilledAgentIsRestartedAndAdoptsItsReplicas() async throws {
        let up = UpProcess(port: 7742)
        defer { up.cleanUp() }
        try up.up("specs/local.yaml")
        try await up.wait("3 replicas training", timeout: 120) { try await up.members("local-demo").filter { $0.outerStep >= 2 }.count == 3 }
        let before = try #require(up.replicas(site: "alpha").first)
        let agent = try #require(agentPids(up, site: "alpha").first)
        kill(agent, SIGKILL)
        try await up.wait("a new alpha agent", timeout: 20) {
            let pids = agentPids(up, site: "alpha")
            return !pids.isEmpty && !pids.contains(agent)
        }
        try await up.wait("the new agent adopting alpha/0", timeout: 20) {
            let log = (try? String(contentsOf: up.data.appendingPathComponent("agents/alpha/agent.log"), encoding: .utf8)) ?? ""
            return log.contains("adopted alpha/0")
        }
        let stepAfter = try await up.outerStep("local-demo")
        try await up.wait("two more outer steps", timeout: 60) { try await up.outerStep("local-demo") >= stepAfter + 2 }
        // The same process, still the only alpha/0, still training.
        let after = up.replicas(site: "alpha")
        #expect(after.count == 1)
        #expect(after.first?["pid"] as? Int == before["pid"] as? Int)
        #expect(after.first?["member"] as? String == before["member"] as? String)
        let members = try await up.members("local-demo")
        #expect(members.filter { $0.slot == "alpha/0" }.map(\.id) == [before["member"] as? String ?? ""])
        let launches = up.log(site: "alpha").filter { $0["event"] as? String == "start" }.count
        #expect(launches == 1, "alpha/0 was started \(launches) times")
        #expect(try up.interrupt() == 0)
        try await up.wait("every process gone", timeout: 10) { up.processes().isEmpty }
    }

    /// An agent that cannot stop its replicas (frozen here; in life, one killed before it could) leaves none behind:
    /// once its agents are gone, `up` stops every process started for its sites.
    @Test func stoppingUpLeavesNoReplicaOfAnAgentThatCouldNotStopThem() async throws {
        let up = UpProcess(port: 7751)
        defer { up.cleanUp() }
        try up.up("specs/local.yaml")
        try await up.wait("3 replicas training", timeout: 120) { try await up.members("local-demo").filter { $0.outerStep >= 1 }.count == 3 }
        let replica = try #require(up.replicas(site: "alpha").first?["pid"] as? Int)
        let agent = try #require(agentPids(up, site: "alpha").first)
        kill(agent, SIGSTOP)
        #expect(try up.interrupt(timeout: 60) == 0)
        #expect(up.text.contains("intermesh up: stopped process \(replica) of alpha/0, left behind by its agent"), "\(up.text.suffix(1500))")
        try await up.wait("every process gone", timeout: 10) { up.processes().isEmpty }
    }

    /// `faultPolicy.orphanTimeout`: with the control plane gone, replicas train on while their agent lives; once the
    /// agent is gone too, each checkpoints and stops by itself after the timeout instead of holding its machine forever.
    @Test func aReplicaThatLostItsAgentAndTheControlPlaneCheckpointsAndStops() async throws {
        let up = UpProcess(port: 7752)
        defer { up.cleanUp() }
        // The checkpoints go where the spec says, an absolute path, under the run's name.
        let checkpoints = up.data.appendingPathComponent("ckpt")
        try up.up(try localSpec(replacing: [("    joinTimeout: 20s\n", "    joinTimeout: 20s\n    orphanTimeout: 8s\n"),
                                            ("      interval: 250\n", "      interval: 250\n      path: \(checkpoints.path)\n")]))
        try await up.wait("3 replicas training", timeout: 120) { try await up.members("local-demo").filter { $0.outerStep >= 2 }.count == 3 }
        let sites = ["alpha", "beta", "gamma"]
        let replicas = try sites.map { site in Int32(try #require(up.replicas(site: site).first?["pid"] as? Int)) }
        let agents = sites.flatMap { agentPids(up, site: $0) }
        #expect(agents.count == 3)

        // The control plane dies (up, which embeds it, with SIGKILL): the agents live on, and so do the replicas.
        let embedding = try #require(up.process?.processIdentifier)
        kill(embedding, SIGKILL)
        up.process?.waitUntilExit()
        try await Task.sleep(for: .seconds(16))
        #expect(replicas.allSatisfy { kill($0, 0) == 0 }, "replicas whose agent lives keep waiting for the control plane")

        // Their agents die too: past the timeout each replica checkpoints and stops.
        for agent in agents { kill(agent, SIGKILL) }
        try up.wait("every replica stopped by itself", timeout: 90) { replicas.allSatisfy { kill($0, 0) != 0 || Self.isZombie($0) } }
        for site in sites {
            let log = up.log(site: site)
            let orphaned = try #require(log.last { $0["event"] as? String == "orphaned" }, "\(site) logs that it was orphaned")
            #expect((orphaned["silent_seconds"] as? Int ?? 0) > 8)
            let step = orphaned["outer_step"] as? Int ?? -1
            #expect(log.contains { $0["event"] as? String == "checkpoint" && $0["outer_step"] as? Int == step }, "\(site) checkpointed step \(step)")
            #expect(log.last { $0["event"] as? String == "leave" }?["reason"] as? String == "orphaned")
            let written = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.appendingPathComponent("local-demo/\(site)-0").path)) ?? []
            #expect(written.contains { $0.hasPrefix("checkpoint-") }, "\(site)'s checkpoint is under \(checkpoints.path): \(written)")
        }
    }

    static func isZombie(_ pid: Int32) -> Bool {
        let stat = String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/stat") ?? Data(), as: UTF8.self)
        return stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true
    }

    @Test func trainingOutlivesAControlPlaneRestart() async throws {
        let up = UpProcess(port: 7743)
        defer { up.cleanUp() }
        let store = up.data.appendingPathComponent("store")
        let serveLog = up.data.appendingPathComponent("serve.log")
        var serve = try up.launch(["serve", "--data", store.path, "--listen", "127.0.0.1:7743",
                                   "--admin-token-file", up.data.appendingPathComponent("admin.token").path], log: serveLog)
        try up.wait("serve", timeout: 30) { ((try? String(contentsOf: serveLog, encoding: .utf8)) ?? "").contains("listening on") }
        let (applied, applyOutput) = try up.command(["apply", "-f", "specs/local.yaml"])
        #expect(applied == 0, "\(applyOutput)")
        for site in ["alpha", "beta", "gamma"] {
            let token: TokenResponse = try await up.client().post("/v1/tokens", json: ["role": "agent", "run": "local-demo", "site": site])
            let directory = up.data.appendingPathComponent("agents/\(site)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try token.token.write(to: directory.appendingPathComponent("agent.token"), atomically: true, encoding: .utf8)
            try up.launch(["agent", "--site", site, "--run", "local-demo", "--server", up.server, "--token-file",
                           directory.appendingPathComponent("agent.token").path, "--state-dir", directory.path, "--stop-replicas-on-exit"],
                          log: directory.appendingPathComponent("agent.log"))
        }
        try await up.wait("3 replicas at outer step 2", timeout: 120) { try await up.members("local-demo").filter { $0.outerStep >= 2 }.count == 3 }
        let revisionsBefore: [RevisionSummary] = try await up.client().get("/v1/runs/local-demo/revisions")

        kill(serve.processIdentifier, SIGKILL)
        serve.waitUntilExit()
        let killedAt = Date().timeIntervalSince1970
        let innerBefore = up.log(site: "alpha").filter { $0["event"] as? String == "inner" }.count
        try await Task.sleep(for: .seconds(3))
        let innerDuring = up.log(site: "alpha").filter { $0["event"] as? String == "inner" }.count
        #expect(innerDuring > innerBefore, "inner steps went on while the control plane was down")
        #expect(up.replicas(site: "gamma").count == 1)

        serve = try up.launch(["serve", "--data", store.path, "--listen", "127.0.0.1:7743"], log: serveLog)
        defer { kill(serve.processIdentifier, SIGKILL) }
        try await up.wait("an outer step completed after the restart", timeout: 20) {
            ["alpha", "beta", "gamma"].allSatisfy { site in up.outerEvents(site: site).contains { ($0["time"] as? Double ?? 0) > killedAt } }
        }
        let revisionsAfter: [RevisionSummary] = try await up.client().get("/v1/runs/local-demo/revisions")
        #expect(revisionsAfter.map(\.contentHash) == revisionsBefore.map(\.contentHash))
        for agent in up.processes() where String(decoding: FileManager.default.contents(atPath: "/proc/\(agent)/cmdline") ?? Data(), as: UTF8.self).contains("agent") {
            kill(agent, SIGTERM)
        }
        try await up.wait("every replica stopped", timeout: 30) { up.processes().allSatisfy { $0 == serve.processIdentifier } }
    }
}
