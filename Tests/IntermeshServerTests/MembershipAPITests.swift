import Foundation
import IntermeshAPI
import IntermeshClient
import IntermeshControl
import IntermeshServer
import IntermeshStore
import Testing

/// Heartbeats, the reconcile loop and `intermesh diff` against a real server.
@Suite(.serialized) struct MembershipAPITests {
    let server = ServerProcess()
    let fastSpec = spec().replacingOccurrences(of: "  sites:\n", with: "  faultPolicy: {heartbeatInterval: 5s, heartbeatTimeout: 12s}\n  sites:\n")

    init() throws {
        try server.start()
    }

    func beat(_ api: APIClient, site: String, id: String, revision: String?, leaving: Bool = false) async throws -> HeartbeatResponse {
        var member: [String: Any] = ["id": id, "slot": "\(site)/0", "state": "training", "outerStep": 3, "leaving": leaving]
        if let revision { member["revision"] = revision }
        return try await api.post("/v1/runs/demo/sites/\(site)/heartbeats", json: ["members": [member]])
    }

    /// `intermesh diff demo` as a user runs it: exit code and output.
    func cliDiff() throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        process.arguments = ["diff", "demo", "--server", "http://127.0.0.1:\(server.port)"]
        process.environment = ["INTERMESH_TOKEN": server.adminToken, "PATH": "/usr/bin:/bin"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func heartbeatsDiffAndLoss() async throws {
        let admin = server.client()
        let applied: ApplyResponse = try await admin.post("/v1/runs", json: ["spec": fastSpec])
        let alpha = server.client(token: (try await admin.post("/v1/tokens", json: ["role": "agent", "run": "demo", "site": "alpha"]) as TokenResponse).token)
        let beta = server.client(token: (try await admin.post("/v1/tokens", json: ["role": "agent", "run": "demo", "site": "beta"]) as TokenResponse).token)

        // Nothing runs yet: both slots are missing, and the agents are told to launch them.
        var (code, text) = try cliDiff()
        #expect(code == 1 && text.contains("alpha/0") && text.contains("2 sites differ"))
        try await Task.sleep(for: .milliseconds(1500))
        let first = try await beat(alpha, site: "alpha", id: "a1", revision: nil)
        #expect(first.contentHash == applied.contentHash)
        #expect(first.directives == [Directive(action: .launch, slot: "alpha/0")])

        // Both report the active revision: in sync (heartbeats are generous here: the machine may be busy).
        _ = try await beat(beta, site: "beta", id: "b1", revision: applied.contentHash)
        _ = try await beat(alpha, site: "alpha", id: "a1", revision: applied.contentHash)
        (code, text) = try cliDiff()
        #expect(code == 0 && text.contains("in sync"), "\(text)")
        let listed: [MemberRecord] = try await admin.get("/v1/runs/demo/members")
        #expect(listed.map(\.slot) == ["alpha/0", "beta/0"] && listed.allSatisfy { $0.revision == applied.contentHash })

        // A member may only beat for its own site.
        do {
            _ = try await alpha.post("/v1/runs/demo/sites/alpha/heartbeats", json: ["members": [["id": "x", "slot": "beta/0", "state": "training"]]]) as HeartbeatResponse
            Issue.record("expected 403")
        } catch let error as APIClientError {
            #expect(error.status == 403)
        }

        // beta goes silent past its timeout (12 s): the reconciler evicts it and asks for a relaunch.
        let deadline = Date().addingTimeInterval(45)
        var lost = false
        while Date() < deadline, !lost {
            _ = try await beat(alpha, site: "alpha", id: "a1", revision: applied.contentHash)
            let events: [[String: Any]] = try JSONSerialization.jsonObject(with: try await admin.send(.GET, "/v1/runs/demo/events").body) as! [[String: Any]]
            lost = events.contains { ($0["message"] as? String)?.contains("member b1 of beta/0 lost") == true }
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(lost)
        #expect(try await admin.metrics()[#"intermesh_evictions_total{run="demo"}"#] == 1)
        let diff: MeshDiff = try await admin.get("/v1/runs/demo/diff")
        #expect(diff.sites.first { $0.site == "beta" }?.missing == ["beta/0"])
        let relaunch = try await beat(beta, site: "beta", id: "b2", revision: applied.contentHash, leaving: false)
        #expect(relaunch.contentHash == applied.contentHash)

        // A deathrattle is evicted on the next pass, long before the timeout.
        _ = try await beat(beta, site: "beta", id: "b2", revision: applied.contentHash, leaving: true)
        var evicted = false
        let rattleDeadline = Date().addingTimeInterval(8)
        while Date() < rattleDeadline, !evicted {
            let after: MeshDiff = try await admin.get("/v1/runs/demo/diff")
            evicted = after.sites.first { $0.site == "beta" }?.missing == ["beta/0"]
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(evicted, "a deathrattle is evicted well before the 12 s timeout")
    }
}

/// `faultPolicy.belowMinReplicas: stop` against a real server: a run that had its replicas and lost them for longer
/// than the join timeout is stopped, with an event that says why; its agents then drain the rest.
@Suite(.serialized) struct BelowMinReplicasTests {
    let server = ServerProcess()

    init() throws {
        try server.start()
    }

    @Test func aRunBelowMinReplicasPastTheJoinTimeoutIsStopped() async throws {
        let policy = "  faultPolicy: {heartbeatInterval: 1s, heartbeatTimeout: 2s, minReplicas: 2, joinTimeout: 2s, belowMinReplicas: stop}\n"
        let admin = server.client()
        _ = try await admin.apply(spec: spec().replacingOccurrences(of: "  sites:\n", with: policy + "  sites:\n"))
        var agents: [String: APIClient] = [:]
        for site in ["alpha", "beta"] {
            agents[site] = server.client(token: try await admin.createToken(TokenRequest(role: .agent, run: "demo", site: site)).token)
        }
        func beat(_ site: String) async throws {
            _ = try await agents[site]!.heartbeat(run: "demo", site: site,
                                                  HeartbeatBody(members: [MemberBeat(id: "m-\(site)", slot: "\(site)/0", state: .training)]))
        }
        // Both members beat until a pass has seen the run with enough replicas.
        let deadline = Date().addingTimeInterval(30)
        while try await admin.describe(run: "demo").conditions.first(where: { $0.type == "Degraded" })?.status != false {
            guard Date() < deadline else { Issue.record("the run never reached minReplicas"); return }
            try await beat("alpha")
            try await beat("beta")
            try await Task.sleep(for: .milliseconds(300))
        }
        // beta goes silent: lost after 2 s, stopped 2 s (the join timeout) later, while alpha still beats.
        var description = try await admin.describe(run: "demo")
        while description.phase == .running, Date() < deadline.addingTimeInterval(30) {
            try await beat("alpha")
            try await Task.sleep(for: .milliseconds(500))
            description = try await admin.describe(run: "demo")
        }
        #expect(description.phase == .stopped)
        #expect(description.conditions.first { $0.type == "Degraded" }?.reason == "BelowMinReplicas")
        let events = try await admin.events(of: "demo")
        #expect(events.contains { $0.kind == "Stopped" && $0.message.contains("belowMinReplicas is stop") }, "\(events.map(\.message))")
    }
}

/// A member lost to silence has its slot relaunched: if it comes back it is not registered again, its heartbeat
/// answer says it was replaced, and it gets no quorum (409 `replaced`), so two incarnations never train one slot.
@Suite(.serialized) struct ReplacedMemberTests {
    let server = ServerProcess()

    init() throws {
        try server.start()
    }

    @Test func aLostMemberThatComesBackIsToldToStopAndGetsNoQuorum() async throws {
        let policy = "  faultPolicy: {heartbeatInterval: 1s, heartbeatTimeout: 2s}\n"
        let admin = server.client()
        _ = try await admin.apply(spec: spec().replacingOccurrences(of: "  sites:\n", with: policy + "  sites:\n"))
        let token = try await admin.createToken(TokenRequest(role: .agent, run: "demo", site: "alpha")).token
        let agent = server.client(token: token)
        func beat(_ id: String, _ agent: APIClient = agent) async throws -> HeartbeatResponse {
            try await agent.heartbeat(run: "demo", site: "alpha", HeartbeatBody(members: [MemberBeat(id: id, slot: "alpha/0", state: .training)]))
        }
        #expect(try await beat("m-old").replaced == nil)
        // Silent past the timeout: lost, and the slot's launch directive names it as the incarnation to replace.
        let deadline = Date().addingTimeInterval(30)
        while try await admin.members(of: "demo").contains(where: { $0.id == "m-old" }) {
            guard Date() < deadline else { Issue.record("m-old was never lost"); return }
            try await Task.sleep(for: .milliseconds(250))
        }
        let answer = try await beat("m-old")
        #expect(answer.replaced == ["m-old"])
        #expect(answer.directives.contains { $0.action == .launch && $0.slot == "alpha/0" && $0.member == "m-old" }, "\(answer.directives)")
        #expect(try await admin.members(of: "demo").allSatisfy { $0.id != "m-old" }, "a replaced member is not registered again")
        await expectError(409, "replaced") {
            _ = try await agent.quorum(run: "demo", site: "alpha", QuorumRequest(step: 1, slot: "alpha/0", member: "m-old"))
        }
        // The new incarnation registers and is answered as usual.
        #expect(try await beat("m-new").replaced == nil)
        #expect(try await admin.members(of: "demo").map(\.id) == ["m-new"])
        let events = try await admin.events(of: "demo")
        #expect(events.contains { $0.message.contains("member m-old of alpha/0 lost") }, "\(events.map(\.message))")

        // A restart of the control plane (or a failover) does not forget it: the slot's record keeps it.
        server.kill9()
        let restarted = ServerProcess(data: server.data)
        try restarted.start()
        defer { restarted.stop() }
        restarted.adminToken = server.adminToken
        let after = restarted.client(token: token)
        #expect(try await beat("m-new", after).replaced == nil)
        #expect(try await beat("m-old", after).replaced == ["m-old"])
        #expect(try await restarted.client().members(of: "demo").map(\.id) == ["m-new"])
    }
}
