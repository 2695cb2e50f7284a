import Foundation

/// The leader's latest completed state, shared with the threads that serve donors and status.
public final class SnapshotBox: @unchecked Sendable {
    let condition = NSCondition()
    var snapshot: TrainerSnapshot?
    var quorum: Quorum?

    public init() {}

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
    public func wait(after: Int, timeout: Double) -> (TrainerSnapshot, Quorum?)? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while (snapshot?.outerStep ?? -1) <= after {
            if !condition.wait(until: deadline) { return nil }
        }
        return snapshot.map { ($0, quorum) }
    }
}
