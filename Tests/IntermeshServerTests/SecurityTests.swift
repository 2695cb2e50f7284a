import Foundation
import IntermeshAPI
import IntermeshClient
import Testing

/// Failures found by probing the control plane as an outside tester would; each test reproduces one.
@Suite(.serialized) struct SecurityTests {
    let server = ServerProcess()

    init() throws {
        try server.start()
    }

    func beat(_ id: String, _ slot: String, step: Int? = nil) -> [String: Any] {
        var beat: [String: Any] = ["id": id, "slot": slot, "state": "training"]
        if let step { beat["outerStep"] = step }
        return beat
    }

    func heartbeat(_ api: APIClient, site: String, _ members: [[String: Any]]) async throws {
        _ = try await api.send(.POST, "/v1/runs/demo/sites/\(site)/heartbeats", body: try JSONSerialization.data(withJSONObject: ["members": members]))
    }

    /// A heartbeat with outer step Int64.max used to be stored; the next hot apply overflowed in the rollout planner
    /// and the server died, again after every restart.
    @Test func anOuterStepOutOfRangeIsRefusedAndAHotApplyStillWorks() async throws {
        let api = server.client()
        _ = try await api.post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        for step in [Int.max, MemberBeat.maxOuterStep + 1, -1] {
            await expectError(400, "bad_request") { try await heartbeat(api, site: "alpha", [beat("m-a", "alpha/0", step: step)]) }
        }
        await expectError(400, "bad_request") {
            try await heartbeat(api, site: "alpha", [["id": "m-a", "slot": "alpha/0", "state": "training", "incarnation": 0]])
        }
        // The largest step accepted leaves room for the planner's arithmetic.
        try await heartbeat(api, site: "alpha", [beat("m-a", "alpha/0", step: MemberBeat.maxOuterStep)])
        let hot = spec().replacingOccurrences(of: "  sites:\n", with: "  training: {innerSteps: 50, checkpoint: {interval: 100}}\n  sites:\n")
        let applied: ApplyResponse = try await api.post("/v1/runs", json: ["spec": hot])
        #expect(applied.revision == 2)
        await expectError(400, "bad_request") { _ = try await api.quorum(run: "demo", site: "alpha", QuorumRequest(step: Int.max, slot: "alpha/0")) }
        #expect(server.process?.isRunning == true)
        #expect(try await api.describe(run: "demo").activeRevision == 2)
    }

    /// An agent token of site alpha could evict beta's members (reporting them exited), move them to alpha by
    /// heartbeating their ids, and list every site's member ids.
    @Test func anAgentActsOnItsOwnSitesMembersOnly() async throws {
        let admin = server.client()
        _ = try await admin.post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        try await heartbeat(admin, site: "beta", [beat("m-beta", "beta/0")])
        try await heartbeat(admin, site: "alpha", [beat("m-alpha", "alpha/0")])
        let token: TokenResponse = try await admin.post("/v1/tokens", json: ["role": "agent", "run": "demo", "site": "alpha"])
        let alpha = server.client(token: token.token)
        await expectError(403, "forbidden") { try await heartbeat(alpha, site: "alpha", [beat("m-beta", "alpha/0")]) }
        _ = try await alpha.post("/v1/runs/demo/sites/alpha/agent",
                                 AgentReport(launched: [], exited: [ExitReport(slot: "alpha/0", member: "m-beta", code: 1, signal: nil, lastLines: [])]),
                                 as: AgentResponse.self)
        let members = try await admin.members(of: "demo")
        #expect(members.first { $0.id == "m-beta" }?.site == "beta")
        #expect(try await alpha.members(of: "demo").map(\.id) == ["m-alpha"])
        // The events and the diff name every site's members: not an agent's to read.
        await expectError(403, "forbidden") { _ = try await alpha.events(of: "demo") }
        await expectError(403, "forbidden") { _ = try await alpha.diff(of: "demo") }
    }

    /// An agent token could read every site's plan through `revisions/N`; now it reads its site's view.
    @Test func anAgentReadsItsSitesViewOfARevision() async throws {
        let admin = server.client()
        let text = spec().replacingOccurrences(of: "{name: beta, replicas: 1}", with: "{name: beta, replicas: 1, env: {BETA_ONLY: beta-value}}")
        _ = try await admin.post("/v1/runs", json: ["spec": text]) as ApplyResponse
        let token: TokenResponse = try await admin.post("/v1/tokens", json: ["role": "agent", "run": "demo", "site": "alpha"])
        let whole = try await admin.revision(of: "demo", number: 1)
        let view = try await server.client(token: token.token).revision(of: "demo", number: 1)
        #expect(whole.site == nil && whole.specText.contains("beta-value") && whole.plan.contains("beta-value"))
        #expect(view.site == "alpha" && view.specText.isEmpty && view.canonical.isEmpty && !view.plan.contains("beta-value"))
        #expect(view.contentHash == whole.contentHash && view.plan.contains("beta/0"))
    }

    /// One heartbeat registered 3,000 members in slots the plan does not have, each with a row and an event.
    @Test func heartbeatsRegisterPlannedSlotsOnly() async throws {
        let api = server.client()
        _ = try await api.post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        let before = try await api.events(of: "demo").count
        await expectError(404, "not_found") {
            try await heartbeat(api, site: "alpha", (0..<3000).map { beat("m-\($0)", "alpha/\($0 + 1)") })
        }
        await expectError(400, "bad_request") {
            try await heartbeat(api, site: "alpha", (0..<3).map { beat("m-\($0)", "alpha/0") })
        }
        #expect(try await api.members(of: "demo").isEmpty)
        #expect(try await api.events(of: "demo").count == before)
    }

    /// `limit=-1` returned every event past the 1,000 cap.
    @Test func eventLimitsOutOfRangeAre400() async throws {
        let api = server.client()
        _ = try await api.post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        for limit in ["-1", "0", "1001", "many"] {
            await expectError(400, "bad_request") { _ = try await api.send(.GET, "/v1/runs/demo/events?limit=\(limit)") }
        }
        _ = try await api.send(.GET, "/v1/runs/demo/events?limit=1000")
    }

    /// Agent tokens were issued for runs and sites that do not exist; tokens could not be listed, revoked or expire.
    @Test func tokensAreScopedListedRevokedAndExpire() async throws {
        let admin = server.client()
        _ = try await admin.post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        await expectError(404, "not_found") { _ = try await admin.post("/v1/tokens", json: ["role": "agent", "run": "nope", "site": "alpha"]) as TokenResponse }
        await expectError(404, "not_found") { _ = try await admin.post("/v1/tokens", json: ["role": "agent", "run": "demo", "site": "gamma"]) as TokenResponse }
        await expectError(400, "bad_request") { _ = try await admin.post("/v1/tokens", json: ["role": "viewer", "ttlSeconds": 0]) as TokenResponse }
        await expectError(400, "bad_request") { _ = try await admin.post("/v1/tokens", json: ["role": "root"]) as TokenResponse }

        let viewer = try await admin.createToken(TokenRequest(role: .viewer, description: "dashboards"))
        let asViewer = server.client(token: viewer.token)
        _ = try await asViewer.runs()
        let listed = try await admin.send(.GET, "/v1/tokens").body
        let text = String(decoding: listed, as: UTF8.self)
        #expect(text.contains(viewer.id) && text.contains("dashboards"))
        #expect(!text.contains(viewer.token) && !text.contains("hash") && !text.contains("salt"))
        await expectError(403, "forbidden") { _ = try await asViewer.tokens() }

        _ = try await admin.revokeToken(id: viewer.id)
        await expectError(401, "unauthorized") { _ = try await asViewer.runs() }
        await expectError(404, "not_found") { _ = try await admin.revokeToken(id: viewer.id) }
        #expect(!(try await admin.tokens()).map(\.id).contains(viewer.id))

        let brief = try await admin.createToken(TokenRequest(role: .viewer, ttlSeconds: 1))
        #expect(brief.expiresAt != nil)
        let asBrief = server.client(token: brief.token)
        _ = try await asBrief.runs()
        try await Task.sleep(for: .milliseconds(1300))
        await expectError(401, "unauthorized") { _ = try await asBrief.runs() }
    }

    /// The store (token hashes, specs) was world-readable: 0644 in a 0755 directory.
    @Test func theStoreIsReadableByItsOwnerOnly() async throws {
        _ = try await server.client().post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        func mode(_ path: String) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
        }
        #expect(try mode(server.data.path) == 0o700)
        for suffix in ["", "-wal", "-shm"] {
            let path = server.data.appendingPathComponent("intermesh.sqlite" + suffix).path
            #expect(try mode(path) == 0o600, "\(path)")
        }
    }
}
