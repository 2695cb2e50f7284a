import Foundation
import IntermeshControl

/// A coordinator's decision of each outer step's quorum (the rules of DESIGN.md, as torchft's Lighthouse):
/// fast when every member of the previous quorum (and every announced joiner) has asked; otherwise after
/// the join timeout with at least `minReplicas` and more than half of the peers, so two partitions can
/// never both train. Quorum ids only grow.
public final class QuorumRoom: @unchecked Sendable {
    public enum Answer: Equatable {
        case quorum(Quorum)
        case missed(Int)
        case waiting
    }

    let peerCount: Int
    let minReplicas: Int
    let joinTimeout: Double
    let condition = NSCondition()

    var previous: Set<Int>
    var departed: Set<Int> = []
    var intents: [Int: Set<Int>] = [:]
    var formed: [Int: Quorum] = [:]
    var pendingStep = -1
    var joined: Set<Int> = []
    /// Members of the pending round found dead by the probe.
    var dead: Set<Int> = []
    var firstJoin: Date?
    var lastId: UInt64
    /// Whether a missing member is still running; a dead one is not waited for (nil: wait the full timeout).
    let probe: (@Sendable (Int) -> Bool)?

    public init(peerCount: Int, minReplicas: Int, joinTimeout: Double, previous: Set<Int>, lastId: UInt64,
                probe: (@Sendable (Int) -> Bool)? = nil) {
        self.peerCount = peerCount
        self.minReplicas = minReplicas
        self.joinTimeout = joinTimeout
        self.previous = previous
        self.lastId = lastId
        self.probe = probe
    }

    /// Blocks until `member` is in a quorum for `step`, the step was formed without it, or `timeout` passes.
    /// `failed` names the quorum whose all-reduce this member saw fail, when it retries the step.
    public func join(step: Int, member: Int, failed: UInt64?, suspects reported: [Int], timeout: Double) -> Answer {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        departed.remove(member)
        if let decided = formed[step] {
            if !decided.members.contains(member) { return .missed(step) }
            if failed != decided.id { return .quorum(decided) }
            // The all-reduce of this quorum failed: form the step again with whoever asks.
            formed[step] = nil
            previous = Set(decided.members)
        }
        if pendingStep != step {
            pendingStep = step
            joined = []
            dead = []
            firstJoin = Date()
        }
        joined.insert(member)
        // A reported suspect may be innocent (a failure cascades around the ring): only the probe excludes.
        if !reported.isEmpty { probeMissing(step: step) }
        while true {
            if let decided = formed[step] {
                return decided.members.contains(member) ? .quorum(decided) : .missed(step)
            }
            if let decided = decide(step: step, now: Date()) {
                formed[step] = decided
                formed = formed.filter { $0.key >= step - 2 }
                previous = Set(decided.members)
                intents[step] = nil
                pendingStep = -1
                condition.broadcast()
                return .quorum(decided)
            }
            // Wake up at the join timeout to decide without the missing members, and meanwhile look for dead ones.
            var wake = min(deadline, (firstJoin ?? Date()).addingTimeInterval(joinTimeout + 0.01))
            if probe != nil { wake = min(wake, Date().addingTimeInterval(0.5)) }
            if !condition.wait(until: wake) {
                // The member stays counted as joined: it asks again right away (it polls to notice stop signals).
                if Date() >= deadline { return .waiting }
                probeMissing(step: step)
            }
        }
    }

    /// Called with the lock held; probes without it.
    func probeMissing(step: Int) {
        guard let probe else { return }
        let missing = previous.union(intents[step] ?? []).subtracting(departed).subtracting(dead).subtracting(joined)
        guard !missing.isEmpty else { return }
        condition.unlock()
        let found = missing.filter { !probe($0) }
        condition.lock()
        if !found.isEmpty, pendingStep == step {
            dead.formUnion(found)
            condition.broadcast()
        }
    }

    func decide(step: Int, now: Date) -> Quorum? {
        let rules = QuorumRules(minReplicas: minReplicas, joinTimeout: joinTimeout)
        let input = QuorumRules.Input(previous: previous.subtracting(departed), announced: intents[step] ?? [],
                                      gone: dead.union(departed), joined: joined, alive: peerCount,
                                      firstJoin: firstJoin ?? now, now: now)
        guard case let .form(members) = rules.decide(input) else { return nil }
        lastId += 1
        return Quorum(id: lastId, step: step, members: members)
    }

    public func intend(step: Int, member: Int) {
        condition.lock()
        intents[step, default: []].insert(member)
        departed.remove(member)
        condition.unlock()
    }

    public func leave(member: Int) {
        condition.lock()
        departed.insert(member)
        previous.remove(member)
        condition.broadcast()
        condition.unlock()
    }
}
