import Foundation
import IntermeshAPI
import NIOCore

/// Every `/v1` call as a typed method: the paths and bodies are written here once for all callers.
extension APIClient {
    public func apply(spec: String, checkRevision: Int? = nil) async throws -> ApplyResponse {
        try await post(Endpoint.runs, ApplyBody(spec: spec, checkRevision: checkRevision))
    }

    public func runs() async throws -> [RunSummary] { try await get(Endpoint.runs) }
    /// Which server answered and which one is active.
    public func serverInfo() async throws -> ServerInfo { try await get("/v1/server") }
    public func describe(run: String) async throws -> RunDescription { try await get(Endpoint.run(run)) }
    public func members(of run: String) async throws -> [MemberRecord] { try await get(Endpoint.members(run)) }
    public func revisions(of run: String) async throws -> [RevisionSummary] { try await get(Endpoint.revisions(run)) }
    public func revision(of run: String, number: Int) async throws -> RevisionRecord { try await get(Endpoint.revision(run, number)) }
    public func diff(of run: String) async throws -> MeshDiff { try await get(Endpoint.diff(run)) }

    public func events(of run: String, after: Int64 = 0, limit: Int = 1000) async throws -> [EventRecord] {
        try await get(Endpoint.events(run, after: after, limit: limit))
    }

    public func stop(run: String) async throws -> RunChange {
        try await Self.decoder.decode(RunChange.self, from: try await send(.POST, Endpoint.stop(run)).body)
    }

    /// A stopped (or failed) run trains again.
    public func resume(run: String) async throws -> RunChange {
        try await Self.decoder.decode(RunChange.self, from: try await send(.POST, Endpoint.resume(run)).body)
    }

    public func createToken(_ request: TokenRequest) async throws -> TokenResponse { try await post(Endpoint.tokens, request) }
    public func tokens() async throws -> [TokenInfo] { try await get(Endpoint.tokens) }

    public func revokeToken(id: String) async throws -> TokenRevoked {
        try await Self.decoder.decode(TokenRevoked.self, from: try await send(.DELETE, Endpoint.token(id)).body)
    }

    public func rolloutStatus(of run: String) async throws -> RolloutStatus { try await get(Endpoint.rollout(run)) }
    public func rolloutHistory(of run: String) async throws -> [HistoryEntry] { try await get(Endpoint.rolloutHistory(run)) }

    public func rollout(_ verb: RolloutVerb, run: String) async throws -> RolloutStatus {
        try await Self.decoder.decode(RolloutStatus.self, from: try await send(.POST, Endpoint.rollout(run, verb)).body)
    }

    public func undo(run: String, toRevision: Int? = nil) async throws -> ApplyResponse {
        try await post(Endpoint.undo(run), UndoBody(toRevision: toRevision))
    }

    // What a site's agent and its members call.

    public func heartbeat(run: String, site: String, _ body: HeartbeatBody, timeout: TimeAmount? = nil) async throws -> HeartbeatResponse {
        try await post(Endpoint.site(run, site, .heartbeats), body, timeout: timeout)
    }

    /// Long-polls (the server holds it up to 10 s) for a step's quorum.
    public func quorum(run: String, site: String, _ request: QuorumRequest, timeout: TimeAmount = .seconds(30)) async throws -> QuorumResponse {
        try await post(Endpoint.site(run, site, .quorum), request, timeout: timeout)
    }

    public func intend(run: String, site: String, _ request: QuorumRequest) async throws -> IntentResponse {
        try await post(Endpoint.site(run, site, .intent), request)
    }

    public func dataKey(run: String, site: String) async throws -> DataKeyResponse {
        try await get(Endpoint.site(run, site, .dataKey))
    }

    public func donor(run: String, site: String, _ request: QuorumRequest) async throws -> DonorResponse {
        try await post(Endpoint.site(run, site, .donor), request)
    }

    /// Waits (up to `wait` seconds, at most 60) for the site's revision schedule to change from version `after`.
    public func schedule(run: String, site: String, after: Int, wait: Int = 30) async throws -> ScheduleResponse {
        try Self.decoder.decode(ScheduleResponse.self, from: try await send(.GET, Endpoint.schedule(run, site, after: after, wait: wait),
                                                                            timeout: .seconds(Int64(wait) + 10)).body)
    }

    public func report(run: String, site: String, _ report: AgentReport) async throws -> AgentResponse {
        try await post(Endpoint.site(run, site, .agent), report)
    }
}

extension APIClient {
    /// Runs a call from a plain (non-async) thread and waits for it: the reference engine's membership threads
    /// block on their calls. Never call it from a task of the cooperative pool.
    public func blocking<T: Sendable>(_ call: @escaping @Sendable (APIClient) async throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<T>()
        let client = self
        Task.detached {
            do {
                box.result = .success(try await call(client))
            } catch {
                box.result = .failure(error)
            }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }
}

/// Hands a result from a task to the thread waiting for it (the semaphore orders the write before the read).
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
