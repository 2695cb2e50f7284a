import Foundation
import IntermeshControl

/// The control plane's quorum rooms, one per run: members long-poll to join outer step k; the decision
/// follows `QuorumRules` with liveness from heartbeats. Members are replica slots (their plan index).
public actor QuorumBoard {
    public struct Decision: Codable, Sendable, Equatable {
        public var id: UInt64
        public var step: Int
        public var members: [Int]
    }

    public enum Answer: Sendable, Equatable {
        case formed(Decision)
        case missed
        case waiting
    }

    struct Room {
        var previous: Set<Int>?
        var lastId: UInt64 = 0
        var intents: [Int: Set<Int>] = [:]
        var decided: [Int: Decision] = [:]
        var pendingStep = -1
        var joined: Set<Int> = []
        var firstJoin = Date()
    }

    var rooms: [String: Room] = [:]
    let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = Date.init) {
        self.now = now
    }

    /// Asks for outer step `step`; polls every `tick` until decided or `deadline`. `alive` gives the slots
    /// heartbeating now (a dead one is not waited for).
    /// Before the first quorum every planned slot is expected (up to the join timeout).
    public func join(run: String, step: Int, member: Int, failed: UInt64?, planned: Set<Int>, rules: QuorumRules, tick: TimeInterval,
                     deadline: Date, alive: @Sendable () async -> Set<Int>) async -> Answer {
        var room = rooms[run] ?? Room()
        if let decided = room.decided[step] {
            if !decided.members.contains(member) { return .missed }
            if failed != decided.id { return .formed(decided) }
            room.decided[step] = nil
            room.previous = Set(decided.members)
        }
        if room.pendingStep != step {
            room.pendingStep = step
            room.joined = []
            room.firstJoin = now()
        }
        room.joined.insert(member)
        rooms[run] = room
        while true {
            let live = await alive()
            guard var current = rooms[run] else { return .waiting }
            if let decided = current.decided[step] { return decided.members.contains(member) ? .formed(decided) : .missed }
            // A member of the last quorum that stopped heartbeating is gone; a planned slot that never came up is waited for.
            let previous = current.previous ?? planned
            let gone = current.previous.map { $0.subtracting(live) } ?? []
            let input = QuorumRules.Input(previous: previous, announced: current.intents[step] ?? [], gone: gone,
                                          joined: current.joined, alive: max(live.count, current.joined.count),
                                          firstJoin: current.firstJoin, now: now())
            if case let .form(members) = rules.decide(input) {
                current.lastId += 1
                let decision = Decision(id: current.lastId, step: step, members: members)
                current.decided[step] = decision
                current.decided = current.decided.filter { $0.key >= step - 2 }
                current.previous = Set(members)
                current.intents[step] = nil
                current.pendingStep = -1
                rooms[run] = current
                return .formed(decision)
            }
            if now() >= deadline { return .waiting }
            try? await Task.sleep(for: .milliseconds(Int(tick * 1000)))
        }
    }

    public func intend(run: String, step: Int, member: Int) {
        rooms[run, default: Room()].intents[step, default: []].insert(member)
    }
}
