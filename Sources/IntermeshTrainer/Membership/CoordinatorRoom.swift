import Foundation
import IntermeshControl

/// The standalone coordinator's quorum room: a shell that blocks member threads on a `QuorumRoom` with a
/// condition variable, probing missing members so that a dead one is not waited for until the join timeout.
public final class CoordinatorRoom: @unchecked Sendable {
    public enum Answer: Equatable {
        case quorum(Quorum)
        case missed(Int)
        case waiting
    }

    let rules: QuorumRules
    let peerCount: Int
    let condition = NSCondition()
    var room: QuorumRoom
    /// Whether a missing member is still running; a dead one is not waited for (nil: wait the full timeout).
    let probe: (@Sendable (Int) -> Bool)?
    let now: @Sendable () -> Date

    public init(peerCount: Int, minReplicas: Int, joinTimeout: Double, previous: Set<Int>, lastId: UInt64,
                probe: (@Sendable (Int) -> Bool)? = nil, now: @escaping @Sendable () -> Date = Date.init) {
        self.peerCount = peerCount
        rules = QuorumRules(minReplicas: minReplicas, joinTimeout: joinTimeout)
        room = QuorumRoom(previous: previous, lastId: lastId)
        self.probe = probe
        self.now = now
    }

    /// Blocks until `member` is in a quorum for `step`, the step was formed without it, or `timeout` passes.
    /// `failed` names the quorum whose all-reduce this member saw fail, when it retries the step.
    public func join(step: Int, member: Int, failed: UInt64?, suspects reported: [Int], timeout: Double) -> Answer {
        let deadline = now().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        if let immediate = room.join(step: step, member: member, failed: failed, now: now()) { return answer(immediate, step: step) }
        // A reported suspect may be innocent (a failure cascades around the ring): only the probe excludes.
        if !reported.isEmpty { probeMissing(step: step) }
        while true {
            let poll = room.poll(step: step, member: member, rules: rules, observation: .init(alive: peerCount), now: now())
            if poll.formedNow { condition.broadcast() }
            if poll.answer != .waiting { return answer(poll.answer, step: step) }
            // Wake up at the join timeout to decide without the missing members, and meanwhile look for dead ones.
            var wake = min(deadline, (poll.wakeAt ?? deadline).addingTimeInterval(0.01))
            if probe != nil { wake = min(wake, now().addingTimeInterval(0.5)) }
            if !condition.wait(until: wake) {
                // The member stays counted as joined: it asks again right away (it polls to notice stop signals).
                if now() >= deadline { return .waiting }
                probeMissing(step: step)
            }
        }
    }

    func answer(_ answer: QuorumRoom.Answer, step: Int) -> Answer {
        switch answer {
        case let .formed(decision): return .quorum(Quorum(id: decision.id, step: decision.step, members: decision.members))
        case .missed, .stale: return .missed(step)
        case .waiting: return .waiting
        }
    }

    /// Called with the lock held; probes without it.
    func probeMissing(step: Int) {
        guard let probe else { return }
        let missing = room.missing(step: step)
        guard !missing.isEmpty else { return }
        condition.unlock()
        let found = missing.filter { !probe($0) }
        condition.lock()
        if !found.isEmpty {
            room.suspect(found, step: step)
            condition.broadcast()
        }
    }

    public func intend(step: Int, member: Int) {
        condition.lock()
        room.intend(step: step, member: member)
        condition.unlock()
    }

    public func leave(member: Int) {
        condition.lock()
        room.leave(member: member)
        condition.broadcast()
        condition.unlock()
    }
}
