import Foundation
import IntermeshControl

/// The control plane's quorum rooms, one per run: members long-poll to join outer step k; the decision
/// follows `QuorumRules` with liveness from heartbeats. Members are replica slots, numbered in the order the
/// board first sees them: numbers stay put when a revision adds or removes sites (plan indices shift).
public actor QuorumBoard {
    public struct Decision: Codable, Sendable, Equatable {
        public var id: UInt64
        public var step: Int
        public var members: [Int]
        /// The members' slots, in ring order.
        public var slots: [String]
    }

    public enum Answer: Sendable, Equatable {
        case formed(Decision)
        case missed
        case waiting
    }

    struct Room {
        var previous: Set<Int>?
        var lastId: UInt64 = 0
        var seeded = false
        var intents: [Int: Set<Int>] = [:]
        var decided: [Int: Decision] = [:]
        var pendingStep = -1
        var joined: Set<Int> = []
        var firstJoin = Date()
    }

    var rooms: [String: Room] = [:]
    var numbers: [String: [String: Int]] = [:]
    var names: [String: [Int: String]] = [:]
    /// Each run's planned slots as numbers, for the plan they came from.
    var planned: [String: (plan: String, numbers: Set<Int>)] = [:]
    /// Each run's last look at liveness: every member waiting for a step polls each tick, and one look at the
    /// members serves them all for half a tick, instead of one look per member per tick.
    var looks: [String: (at: Date, live: Set<Int>, ready: Set<Int>)] = [:]
    let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = Date.init) {
        self.now = now
    }

    /// Liveness as the control plane sees it: slots heartbeating, and those of them whose member is past
    /// joining (a slot whose new incarnation is still recovering is not waited for).
    public struct Liveness: Sendable {
        public var live: Set<String>
        public var ready: Set<String>

        public init(live: Set<String>, ready: Set<String>) {
            self.live = live
            self.ready = ready
        }
    }

    /// Asks for outer step `step`; polls every `tick` until decided or `deadline`. `alive` gives the slots
    /// heartbeating now (a dead one is not waited for).
    /// Before the first quorum every planned slot is expected (up to the join timeout).
    /// `planned` is in plan order: slots are numbered in it first, so rings follow the plan.
    /// `plan` names the plan `planned` comes from: the slots are listed only when it changed.
    public func join(run: String, step: Int, slot: String, failed: UInt64?, plan: String, planned: () -> [String], rules: QuorumRules,
                     tick: TimeInterval, deadline: Date, alive: @Sendable () async -> Liveness) async -> Answer {
        let plannedNumbers: Set<Int>
        if let known = self.planned[run], known.plan == plan {
            plannedNumbers = known.numbers
        } else {
            plannedNumbers = Set(planned().map { number(run, $0) })
            self.planned[run] = (plan, plannedNumbers)
        }
        let member = number(run, slot)
        return await join(run: run, step: step, member: member, failed: failed, planned: plannedNumbers,
                          rules: rules, tick: tick, deadline: deadline) {
            await self.look(run: run, maxAge: tick / 2, alive: alive)
        }
    }

    func look(run: String, maxAge: TimeInterval, alive: @Sendable () async -> Liveness) async -> (live: Set<Int>, ready: Set<Int>) {
        if let last = looks[run], now().timeIntervalSince(last.at) < maxAge { return (last.live, last.ready) }
        let at = now()
        let liveness = await alive()
        let look = (at: at, live: numbers(run, liveness.live), ready: numbers(run, liveness.ready))
        if (looks[run]?.at ?? .distantPast) < at { looks[run] = look }
        return (look.live, look.ready)
    }

    func number(_ run: String, _ slot: String) -> Int {
        if let known = numbers[run]?[slot] { return known }
        let next = numbers[run]?.count ?? 0
        numbers[run, default: [:]][slot] = next
        names[run, default: [:]][next] = slot
        return next
    }

    func numbers(_ run: String, _ slots: Set<String>) -> Set<Int> {
        Set(slots.map { number(run, $0) })
    }

    func join(run: String, step: Int, member: Int, failed: UInt64?, planned: Set<Int>, rules: QuorumRules, tick: TimeInterval,
              deadline: Date, alive: @Sendable () async -> (live: Set<Int>, ready: Set<Int>)) async -> Answer {
        var room = rooms[run] ?? Room()
        if !room.seeded {
            // Ids stay monotonic across a control-plane restart without storing them: a fresh board starts
            // above every id an earlier one can have issued up to this step (fewer than 256 quorums per step).
            room.lastId = max(room.lastId, UInt64(max(0, step)) << 8)
            room.seeded = true
        }
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
            let (live, ready) = await alive()
            guard var current = rooms[run] else { return .waiting }
            if let decided = current.decided[step] { return decided.members.contains(member) ? .formed(decided) : .missed }
            // A member of the last quorum that stopped heartbeating (or came back as a new incarnation that is still
            // recovering) is gone; a planned slot that never came up is waited for.
            let previous = current.previous ?? planned
            let gone = current.previous.map { $0.subtracting(ready) } ?? []
            let input = QuorumRules.Input(previous: previous, announced: current.intents[step] ?? [], gone: gone,
                                          joined: current.joined, alive: max(live.count, current.joined.count),
                                          firstJoin: current.firstJoin, now: now())
            if case let .form(members) = rules.decide(input) {
                current.lastId += 1
                ServerMetrics.quorumsFormed(run: run).increment()
                let slotNames = names[run] ?? [:]
                let decision = Decision(id: current.lastId, step: step, members: members, slots: members.map { slotNames[$0] ?? "" })
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

    public func intend(run: String, step: Int, slot: String) {
        let member = number(run, slot)
        rooms[run, default: Room()].intents[step, default: []].insert(member)
    }

    /// Forgets a deleted run's rooms.
    public func forget(run: String) {
        rooms[run] = nil
        numbers[run] = nil
        names[run] = nil
        planned[run] = nil
        looks[run] = nil
    }
}
