import Foundation
import IntermeshAPI
import IntermeshControl

/// The control plane's quorum rooms, one `QuorumRoom` per run, long-polled by members: each waiter polls its
/// room every tick until the step is decided or its request's deadline. Slots are numbered in the order the
/// board first sees them, so numbers stay put when a revision adds or removes sites (plan indices shift).
public actor QuorumBoard {
    public enum Answer: Sendable, Equatable {
        case formed(QuorumDecision)
        case missed
        case stale(revision: Int)
        case waiting
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

    /// What the board keeps per run; `forget` drops it whole.
    struct RunRooms {
        var room: QuorumRoom
        var numbers: [String: Int] = [:]
        var names: [Int: String] = [:]
        /// The planned slots as numbers, for the plan they came from.
        var planned: (plan: String, numbers: Set<Int>)?
        /// The last look at liveness: every waiter polls each tick, and one look serves them all for half a tick.
        var look: (at: Date, live: Set<Int>, ready: Set<Int>)?

        mutating func number(_ slot: String) -> Int {
            if let known = numbers[slot] { return known }
            let next = numbers.count
            numbers[slot] = next
            names[next] = slot
            return next
        }
    }

    var runs: [String: RunRooms] = [:]
    /// Waiters between two polls, per run: a decision wakes them all at once instead of at their next tick.
    var sleepers: [String: [UInt64: CheckedContinuation<Void, Never>]] = [:]
    var nextSleeper: UInt64 = 0
    let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = Date.init) {
        self.now = now
    }

    /// Asks for outer step `step`; polls every `tick` until decided or `deadline`. `alive` gives the slots
    /// heartbeating now (a dead one is not waited for). Before the first quorum every planned slot is expected
    /// (up to the join timeout). `planned` is in plan order: slots are numbered in it first, so rings follow the
    /// plan; `plan` names the plan it comes from, so the slots are listed only when it changed.
    public func join(run: String, step: Int, slot: String, failed: UInt64?, revision: (trained: Int, scheduled: Int)? = nil, plan: String,
                     planned: () -> [String], rules: QuorumRules, tick: TimeInterval, deadline: Date,
                     alive: @Sendable () async -> Liveness) async -> Answer {
        // Ids stay monotonic across a control-plane restart without storing them: a fresh board starts above every
        // id an earlier one can have issued up to this step (fewer than 256 quorums per step).
        var rooms = runs[run] ?? RunRooms(room: QuorumRoom(lastId: UInt64(max(0, step)) << 8))
        if rooms.planned?.plan != plan {
            rooms.planned = (plan, Set(planned().map { rooms.number($0) }))
        }
        let member = rooms.number(slot)
        let immediate = rooms.room.join(step: step, member: member, failed: failed, revision: revision, now: now())
        runs[run] = rooms
        if let immediate { return answer(immediate, run: run) }
        while true {
            let (live, ready) = await look(run: run, maxAge: tick / 2, alive: alive)
            guard var rooms = runs[run] else { return .waiting }
            // A member of the last quorum that stopped heartbeating (or came back as a new incarnation that is still
            // recovering) is gone; a planned slot that never came up is waited for.
            let observation = QuorumRoom.Observation(planned: rooms.planned?.numbers ?? [], gone: rooms.room.previous.map { $0.subtracting(ready) } ?? [],
                                                     alive: live.count)
            let poll = rooms.room.poll(step: step, member: member, rules: rules, observation: observation, now: now())
            runs[run] = rooms
            if poll.formedNow {
                ServerMetrics.quorumsFormed(run: run).increment()
                // Members change state around a decision: the next step's first poll looks afresh.
                runs[run]?.look = nil
                wakeAll(run: run)
            }
            if poll.answer != .waiting { return answer(poll.answer, run: run) }
            // A waiter whose caller went away (a cancelled gRPC call) stops polling; without this its sleeps would
            // return at once and spin until the deadline.
            if now() >= deadline || Task.isCancelled { return .waiting }
            await nap(run: run, seconds: tick)
        }
    }

    func answer(_ answer: QuorumRoom.Answer, run: String) -> Answer {
        switch answer {
        case let .formed(decision):
            let names = runs[run]?.names ?? [:]
            return .formed(QuorumDecision(id: decision.id, step: decision.step, slots: decision.members.map { names[$0] ?? "" }))
        case .missed: return .missed
        case let .stale(revision): return .stale(revision: revision)
        case .waiting: return .waiting
        }
    }

    func look(run: String, maxAge: TimeInterval, alive: @Sendable () async -> Liveness) async -> (live: Set<Int>, ready: Set<Int>) {
        if let last = runs[run]?.look, now().timeIntervalSince(last.at) < maxAge { return (last.live, last.ready) }
        let at = now()
        let liveness = await alive()
        guard var rooms = runs[run] else { return ([], []) }
        let look = (at: at, live: Set(liveness.live.map { rooms.number($0) }), ready: Set(liveness.ready.map { rooms.number($0) }))
        if (rooms.look?.at ?? .distantPast) < at { rooms.look = look }
        runs[run] = rooms
        return (look.live, look.ready)
    }

    /// The round a member asking now joins, for protocols without outer steps (torchft's Lighthouse): the one being
    /// gathered, else the one after the last decided. Rounds take the place of steps in the room, so a member that
    /// comes late joins the next round instead of missing a step.
    public func round(run: String) -> Int {
        guard let room = runs[run]?.room else { return 0 }
        if room.pendingStep >= 0 { return room.pendingStep }
        return (room.latestDecided ?? -1) + 1
    }

    /// A recovered member announces the step it joins, so that step's quorum waits for it.
    public func intend(run: String, step: Int, slot: String) {
        var rooms = runs[run] ?? RunRooms(room: QuorumRoom(lastId: UInt64(max(0, step)) << 8))
        let member = rooms.number(slot)
        rooms.room.intend(step: step, member: member)
        runs[run] = rooms
    }

    /// Forgets a deleted run's rooms.
    public func forget(run: String) {
        runs[run] = nil
        wakeAll(run: run)
    }

    /// Waits `seconds`, or less when a decision of the run is made meanwhile.
    func nap(run: String, seconds: TimeInterval) async {
        let id = nextSleeper
        nextSleeper += 1
        await withCheckedContinuation { continuation in
            sleepers[run, default: [:]][id] = continuation
            Task {
                try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                self.wake(run: run, id: id)
            }
        }
    }

    func wake(run: String, id: UInt64) {
        sleepers[run]?.removeValue(forKey: id)?.resume()
    }

    func wakeAll(run: String) {
        guard let waiting = sleepers.removeValue(forKey: run) else { return }
        for continuation in waiting.values { continuation.resume() }
    }
}
