import Foundation

/// The leader's latest completed state, shared with the threads that serve donors and status.
public final class SnapshotBox: @unchecked Sendable {
    let condition = NSCondition()
    var snapshot: TrainerSnapshot?
    var quorum: Quorum?
    /// Since when the leader has been asking for a quorum for its next outer step; nil while it trains.
    var joiningSince: Date?

    public init() {}

    /// The leader asks for a quorum (`true`) or has one, or gave up (`false`).
    public func joining(_ asking: Bool, now: Date = Date()) {
        condition.lock()
        joiningSince = asking ? (joiningSince ?? now) : nil
        condition.broadcast()
        condition.unlock()
    }

    public func publish(_ snapshot: TrainerSnapshot, quorum: Quorum?) {
        condition.lock()
        self.snapshot = snapshot
        if let quorum { self.quorum = quorum }
        condition.broadcast()
        condition.unlock()
    }

    public var status: ReplicaStatus {
        condition.lock()
        defer { condition.unlock() }
        return ReplicaStatus(outerStep: snapshot?.outerStep ?? -1, quorum: quorum)
    }

    /// The snapshot once one newer than outer step `after` exists, or nil after `timeout` seconds.
    ///
    /// A leader that has asked for a quorum longer than `stuckAfter` seconds cannot finish its step without
    /// more members (the rules form a quorum at the join timeout when there are enough): waiting for its next
    /// step would wait for the joiner itself. It hands over the state it has, and the joiner, which announces
    /// that very step, makes up the quorum.
    public func wait(after: Int, timeout: Double, stuckAfter: Double = .infinity) -> (TrainerSnapshot, Quorum?)? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while (snapshot?.outerStep ?? -1) <= after {
            if let since = joiningSince, let snapshot, Date().timeIntervalSince(since) >= stuckAfter {
                return (snapshot, quorum)
            }
            var until = deadline
            if let since = joiningSince { until = min(until, since.addingTimeInterval(stuckAfter)) }
            if !condition.wait(until: until), Date() >= deadline { return nil }
        }
        return snapshot.map { ($0, quorum) }
    }
}
