import Foundation
import IntermeshAPI
import IntermeshControl

/// The control plane's storage. SQLite (`SQLiteStore`) is the embedded default; `PostgresStore` keeps it in
/// PostgreSQL. An acknowledged write is durable. `StoreContractTests` holds both to this contract.
public protocol Store: Sendable {
    /// Creates the run or adds a revision, atomically; an identical spec is a no-op.
    func apply(_ request: ApplyRequest) async throws -> ApplyOutcome
    func run(_ name: String) async throws -> RunRecord?
    func runs() async throws -> [RunRecord]
    func revisions(of run: String) async throws -> [RevisionRecord]
    func revision(of run: String, number: Int) async throws -> RevisionRecord?
    func setPhase(_ phase: RunPhase, of run: String, now: Date) async throws
    func updateStatus(of run: String, outerStep: Int, conditions: [RunCondition], now: Date) async throws
    /// Deletes a run with its revisions, members and events; false when there was none.
    func deleteRun(_ name: String) async throws -> Bool

    func appendEvent(run: String, kind: String, message: String, now: Date) async throws -> EventRecord
    /// Several events in one transaction.
    func appendEvents(run: String, _ events: [(kind: String, message: String)], now: Date) async throws
    func events(of run: String, after: Int64, limit: Int) async throws -> [EventRecord]

    /// The run's rollouts and revision schedule; nil before its first rollout was recorded.
    func rolloutState(of run: String) async throws -> RolloutState?
    /// Reads, changes and saves the rollout state in one transaction, with the update's events and (on a revert)
    /// the run's new active revision; `transform` returns nil to change nothing. Returns the state after.
    func updateRolloutState(run: String, now: Date, _ transform: @Sendable (RolloutState?) throws -> RolloutUpdate?) async throws -> RolloutState?

    /// The run's data-plane secret (hex, 32 random bytes), made on first use; nil when there is no such run. Never
    /// part of a plan, a revision or an answer to anyone but the run's agents.
    func dataKey(of run: String) async throws -> String?

    func saveToken(_ token: TokenRecord) async throws
    /// The token with this id; nil when there is none, or when its row names a role this version does not know.
    func token(id: String) async throws -> TokenRecord?
    func tokens() async throws -> [TokenRecord]
    /// Deletes a token; the next request with it is refused. False when there was none.
    func deleteToken(id: String) async throws -> Bool
    func tokenCount() async throws -> Int

    /// New members, their slots' launch history and the events saying so, in one transaction.
    func register(_ members: [MemberRecord], slots: [String: SlotRecord], events: [(kind: String, message: String)], run: String, now: Date) async throws
    func members(of run: String) async throws -> [MemberRecord]
    func removeMembers(_ ids: [String], run: String) async throws
    func slots(of run: String) async throws -> [String: SlotRecord]
    /// Only the named slots' records.
    func slots(of run: String, named: [String]) async throws -> [String: SlotRecord]
    func saveSlot(_ slot: String, _ record: SlotRecord, run: String) async throws
    /// Several slots in one transaction.
    func saveSlots(_ slots: [String: SlotRecord], run: String) async throws
}

extension Store {
    public func saveSlot(_ slot: String, _ record: SlotRecord, run: String) async throws {
        try await saveSlots([slot: record], run: run)
    }
}
