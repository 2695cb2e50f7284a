import Foundation
import IntermeshAPI
import IntermeshClient
import IntermeshControl
import IntermeshServer
import Testing

/// Rollout endpoints against a real server: what they refuse, and what an apply records.
@Suite(.serialized) struct RolloutAPITests {
    let server = ServerProcess()

    init() throws {
        try server.start()
    }

    /// The spec with H = 50 instead of the default 100: a hot change.
    func hot() -> String {
        spec().replacingOccurrences(of: "  sites:\n", with: "  training: {innerSteps: 50, checkpoint: {interval: 100}}\n  sites:\n")
    }

    @Test func anApplyPlansARolloutAndHistoryNamesTheChanges() async throws {
        let api = server.client()
        _ = try await api.post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        let first: RolloutStatus = try await api.get("/v1/runs/demo/rollout")
        #expect(first.rollout == nil && first.schedule.map(\.revision) == [1])
        let applied: ApplyResponse = try await api.post("/v1/runs", json: ["spec": hot()])
        #expect(applied.rollout == "hot: activates at outer step 3 on every site")
        let status: RolloutStatus = try await api.get("/v1/runs/demo/rollout")
        #expect(status.rollout?.revision == 2 && status.rollout?.strategy == .hot && status.rollout?.phase == .activating)
        // No member has completed a step: the first clean boundary is 0 + 1 + the default lead of 2.
        #expect(status.rollout?.activationStep == 3)
        #expect(status.schedule.last == RevisionSchedule.Entry(revision: 2, fromStep: 3))
        let history: [HistoryEntry] = try await api.get("/v1/runs/demo/rollout/history")
        #expect(history.map(\.revision) == [1, 2])
        #expect(history[1].summary == "1 change: 1 hot" && history[1].changes == ["~ spec.training.innerSteps: 100 -> 50"])
    }

    @Test func anImmutableChangeIsRefusedAndRecordsNothing() async throws {
        let api = server.client()
        _ = try await api.post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        await expectError(422, "immutable_field") {
            _ = try await api.post("/v1/runs", json: ["spec": spec().replacingOccurrences(of: "hiddenSize: 8", with: "hiddenSize: 16")]) as ApplyResponse
        }
        let revisions: [RevisionSummary] = try await api.get("/v1/runs/demo/revisions")
        #expect(revisions.count == 1)
    }

    @Test func verbsRefuseWhatTheyCannotDo() async throws {
        let api = server.client()
        _ = try await api.post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        await expectError(409, "no_rollout") { _ = try await api.post("/v1/runs/demo/rollout/promote", json: [:]) as RolloutStatus }
        await expectError(404, "not_found") { _ = try await api.post("/v1/runs/demo/rollout/undo", json: ["toRevision": 7]) as ApplyResponse }
        await expectError(404, "not_found") { _ = try await api.post("/v1/runs/demo/rollout/undo", json: [:]) as ApplyResponse }
        await expectError(400, "bad_request") { _ = try await api.send(.POST, "/v1/runs/demo/rollout/undo", body: Data("{\"toRevision\": \"x\"}".utf8)) }
        await expectError(404, "not_found") { _ = try await api.get("/v1/runs/nope/rollout") as RolloutStatus }
        let viewer: TokenResponse = try await api.post("/v1/tokens", json: ["role": "viewer"])
        await expectError(403, "forbidden") { _ = try await server.client(token: viewer.token).post("/v1/runs/demo/rollout/pause", json: [:]) as RolloutStatus }
    }

    @Test func pauseHoldsANewRevisionUntilResume() async throws {
        let api = server.client()
        _ = try await api.post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        let paused: RolloutStatus = try await api.post("/v1/runs/demo/rollout/pause", json: [:])
        #expect(paused.paused)
        _ = try await api.post("/v1/runs", json: ["spec": hot()]) as ApplyResponse
        let held: RolloutStatus = try await api.get("/v1/runs/demo/rollout")
        #expect(held.rollout?.phase == .pending && held.rollout?.activationStep == nil && held.schedule.count == 1)
        let resumed: RolloutStatus = try await api.post("/v1/runs/demo/rollout/resume", json: [:])
        #expect(!resumed.paused && resumed.rollout?.phase == .activating && resumed.schedule.last?.revision == 2)
        // Undo to revision 1: a third revision with its content, planned the same way.
        let undone: ApplyResponse = try await api.post("/v1/runs/demo/rollout/undo", json: [:])
        #expect(undone.revision == 3)
        let after: RolloutStatus = try await api.get("/v1/runs/demo/rollout")
        // It supersedes revision 2's rollout; the stable revision it starts from is the last one scheduled everywhere.
        #expect(after.rollout?.revision == 3 && after.rollout?.from == 2)
        let history: [HistoryEntry] = try await api.get("/v1/runs/demo/rollout/history")
        #expect(history.map(\.outcome) == [nil, .superseded, .activating])
        let revisions: [RevisionSummary] = try await api.get("/v1/runs/demo/revisions")
        #expect(revisions.count == 3)
    }

    @Test func heartbeatsCarryTheScheduleAndAStaleJoinIsRefused() async throws {
        let api = server.client()
        _ = try await api.post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        _ = try await api.post("/v1/runs", json: ["spec": hot()]) as ApplyResponse
        func beat(_ site: String, acknowledged: Int) async throws -> HeartbeatResponse {
            try await api.post("/v1/runs/demo/sites/\(site)/heartbeats", json: ["members": [[
                "id": "\(site)-1", "slot": "\(site)/0", "state": "training", "outerStep": 2, "acknowledged": acknowledged, "activeRevision": 1,
            ]]])
        }
        let answer = try await beat("alpha", acknowledged: 2)
        #expect(answer.schedule == [RevisionSchedule.Entry(revision: 1, fromStep: 0), RevisionSchedule.Entry(revision: 2, fromStep: 3)])
        _ = try await beat("beta", acknowledged: 2)
        let members: [MemberRecord] = try await api.get("/v1/runs/demo/members")
        #expect(members.map(\.acknowledged) == [2, 2])

        // Step 3 trains with revision 2: a member that trained it with revision 1 is told so, and not admitted.
        let stale: QuorumResponse = try await api.post("/v1/runs/demo/sites/alpha/quorum", json: ["step": 3, "slot": "alpha/0", "revision": 1])
        #expect(stale.status == .stale && stale.revision == 2 && stale.quorum == nil)
        // With the right revision both are admitted to one quorum.
        async let first: QuorumResponse = api.post("/v1/runs/demo/sites/alpha/quorum", json: ["step": 3, "slot": "alpha/0", "revision": 2])
        async let second: QuorumResponse = api.post("/v1/runs/demo/sites/beta/quorum", json: ["step": 3, "slot": "beta/0", "revision": 2])
        let (a, b) = try await (first, second)
        #expect(a.status == .formed && b.status == .formed && a.quorum?.id == b.quorum?.id)
        #expect(a.quorum?.slots == ["alpha/0", "beta/0"] && a.ring.map(\.slot) == ["alpha/0", "beta/0"])
    }
}

/// What the control plane keeps of a run in memory goes with the run: a new run of the same name starts clean.
@Suite(.serialized) struct RunRuntimeAPITests {
    let server = ServerProcess()

    init() throws {
        try server.start()
    }

    @Test func aDeletedRunLeavesNothingToARunOfTheSameName() async throws {
        let admin = server.client()
        _ = try await admin.apply(spec: spec())
        let alpha = server.client(token: try await admin.createToken(TokenRequest(role: .agent, run: "demo", site: "alpha")).token)
        _ = try await alpha.report(run: "demo", site: "alpha", AgentReport(launched: [], exited: [], pendingRestarts: 2, revision: 1))
        let before = try await admin.rolloutStatus(of: "demo")
        #expect(before.sites.first { $0.site == "alpha" }?.pendingRestarts == 2)

        _ = try await admin.send(.DELETE, Endpoint.run("demo"))
        _ = try await admin.apply(spec: spec())
        let after = try await admin.rolloutStatus(of: "demo")
        #expect(after.sites.allSatisfy { $0.pendingRestarts == nil }, "\(after.sites)")
    }

    /// A member holding the schedule request open hears of an apply at once, not at its next heartbeat.
    @Test func aScheduleWatchIsAnsweredByAnApply() async throws {
        let admin = server.client()
        _ = try await admin.apply(spec: spec())
        let alpha = server.client(token: try await admin.createToken(TokenRequest(role: .agent, run: "demo", site: "alpha")).token)
        let first = try await alpha.schedule(run: "demo", site: "alpha", after: -1)
        #expect(first.schedule.map(\.revision) == [1])
        async let watch = alpha.schedule(run: "demo", site: "alpha", after: first.version, wait: 60)
        try await Task.sleep(for: .milliseconds(300))
        _ = try await admin.apply(spec: spec(replicas: 2))
        let answer = try await watch
        #expect(answer.version != first.version && answer.activeRevision == 2, "\(answer)")
        await #expect(throws: APIClientError.self) { _ = try await alpha.schedule(run: "demo", site: "alpha", after: 0, wait: 61) }
        await #expect(throws: APIClientError.self) { _ = try await alpha.schedule(run: "demo", site: "beta", after: 0, wait: 1) }
    }
}
