import Foundation

/// One run's quorum room as plain state: who asked for which outer step, who announced a join, what was decided,
/// who is gone. Time and liveness are inputs; `QuorumRules` decides. The control plane's board (an actor that
/// long-polls) and the standalone engine's coordinator (a condition variable) are shells that wait on it.
///
/// Members are numbers (slots numbered by the shell). Joiners are admitted only at the start of a step: a step's
/// membership is fixed once decided, and a member asking for a decided step without being in it has missed it.
public struct QuorumRoom: Sendable, Equatable {
    public struct Decision: Sendable, Equatable {
        /// Monotonic across the run.
        public var id: UInt64
        public var step: Int
        /// Ring order (ascending member numbers).
        public var members: [Int]

        public init(id: UInt64, step: Int, members: [Int]) {
            self.id = id
            self.step = step
            self.members = members
        }
    }

    public enum Answer: Sendable, Equatable {
        case formed(Decision)
        /// The step was decided without this member (or moved past it): it recovers and joins a later one.
        case missed
        /// The member trained the step with another revision than the step's: it is not admitted, and trains the step
        /// again with this revision (the others wait for it as for a straggler). No outer step mixes revisions.
        case stale(revision: Int)
        /// Not decided yet: wait (until `Poll.wakeAt`, or until someone else asks) and poll again.
        case waiting
    }

    /// What the shell sees of the members now.
    public struct Observation: Sendable, Equatable {
        /// Expected before the first quorum (the plan's slots); ignored once a quorum was formed.
        public var planned: Set<Int>
        /// Members known gone now: silent, leaving, or a new incarnation still recovering.
        public var gone: Set<Int>
        /// Members alive now, for the majority rule (at least those that asked).
        public var alive: Int

        public init(planned: Set<Int> = [], gone: Set<Int> = [], alive: Int) {
            self.planned = planned
            self.gone = gone
            self.alive = alive
        }
    }

    public struct Poll: Sendable, Equatable {
        public var answer: Answer
        /// When the rules can decide without the missing members (the join timeout); nil: only when someone asks.
        public var wakeAt: Date?
        /// This poll formed the quorum.
        public var formedNow: Bool
    }

    /// Members of the last formed quorum; nil before the first.
    public private(set) var previous: Set<Int>?
    public private(set) var lastId: UInt64
    /// The step being gathered (-1: none) and who asked for it since when.
    public private(set) var pendingStep = -1
    public private(set) var joined: Set<Int> = []
    var firstJoin = Date.distantPast
    /// Members found gone during the pending step (by a probe), in addition to what each observation says.
    var suspected: Set<Int> = []
    /// Members that said they leave (deathrattle); they are not waited for until they ask again.
    var departed: Set<Int> = []
    var intents: [Int: Set<Int>] = [:]
    var decided: [Int: Decision] = [:]

    /// `previous`: the last quorum, when one is known (a standalone coordinator taking over); `lastId`: ids start above it.
    public init(previous: Set<Int>? = nil, lastId: UInt64 = 0) {
        self.previous = previous
        self.lastId = lastId
    }

    /// `member` asks for `step`; `failed` names the quorum whose all-reduce it saw fail (the step is formed again);
    /// `revision` is the one it trained the step with and the one the schedule gives the step, when both are known.
    /// Answers at once when the step is decided or the revision is not the step's; nil when the member must wait and `poll`.
    public mutating func join(step: Int, member: Int, failed: UInt64?, revision: (trained: Int, scheduled: Int)? = nil,
                              now: Date) -> Answer? {
        if let revision, revision.trained != revision.scheduled { return .stale(revision: revision.scheduled) }
        departed.remove(member)
        if let decision = decided[step] {
            guard decision.members.contains(member) else { return .missed }
            if failed != decision.id { return .formed(decision) }
            decided[step] = nil
            previous = Set(decision.members)
        }
        if pendingStep != step {
            pendingStep = step
            joined = []
            suspected = []
            firstJoin = now
        }
        joined.insert(member)
        return nil
    }

    /// The answer for `member`, waiting for `step`: decides the step when the rules allow.
    public mutating func poll(step: Int, member: Int, rules: QuorumRules, observation: Observation, now: Date) -> Poll {
        if let decision = decided[step] {
            return Poll(answer: decision.members.contains(member) ? .formed(decision) : .missed, wakeAt: nil, formedNow: false)
        }
        // Others moved on to a later step while this member waited: its step will not be formed with it.
        guard pendingStep == step else { return Poll(answer: .missed, wakeAt: nil, formedNow: false) }
        let input = QuorumRules.Input(previous: (previous ?? observation.planned).subtracting(departed), announced: intents[step] ?? [],
                                      gone: observation.gone.union(suspected).union(departed), joined: joined,
                                      alive: max(observation.alive, joined.count), firstJoin: firstJoin, now: now)
        switch rules.decide(input) {
        case let .form(members):
            lastId += 1
            let decision = Decision(id: lastId, step: step, members: members)
            decided[step] = decision
            decided = decided.filter { $0.key >= step - 2 }
            previous = Set(members)
            intents[step] = nil
            intents = intents.filter { $0.key > step }
            pendingStep = -1
            return Poll(answer: members.contains(member) ? .formed(decision) : .missed, wakeAt: nil, formedNow: true)
        case let .waitUntil(deadline):
            return Poll(answer: .waiting, wakeAt: deadline, formedNow: false)
        case .belowMinimum:
            return Poll(answer: .waiting, wakeAt: nil, formedNow: false)
        }
    }

    /// A recovered member announces that it joins at `step`: that step's quorum waits for it.
    public mutating func intend(step: Int, member: Int) {
        intents[step, default: []].insert(member)
        departed.remove(member)
    }

    /// The deathrattle: `member` leaves now and is not waited for.
    public mutating func leave(member: Int) {
        departed.insert(member)
        previous?.remove(member)
    }

    /// Members the pending `step` still waits for: of the last quorum and announced, not gone, not asked yet.
    public func missing(step: Int, planned: Set<Int> = []) -> Set<Int> {
        guard pendingStep == step else { return [] }
        return (previous ?? planned).union(intents[step] ?? []).subtracting(departed).subtracting(suspected).subtracting(joined)
    }

    /// A probe found these members dead while `step` was gathered: the step does not wait for them.
    public mutating func suspect(_ members: Set<Int>, step: Int) {
        guard pendingStep == step else { return }
        suspected.formUnion(members)
    }

    /// Takes over from another coordinator: the last quorum it knows of, when newer than this room's own.
    public mutating func adopt(previous members: Set<Int>, lastId: UInt64) {
        guard lastId > self.lastId else { return }
        self.lastId = lastId
        previous = members
    }

    /// The newest step decided and not yet forgotten.
    public var latestDecided: Int? {
        decided.keys.max()
    }

    /// The decision of `step`, when it was made and not yet forgotten.
    public func decision(of step: Int) -> Decision? {
        decided[step]
    }
}
