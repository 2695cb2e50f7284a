import Foundation

/// Who takes part in an outer step, decided from plain inputs (DESIGN.md; torchft's Lighthouse rules):
/// fast when every member of the previous quorum and every announced joiner has asked; otherwise after the
/// join timeout, with at least `minReplicas` and more than half of the heartbeating members, so two
/// partitions can never both train. Used by the control plane and by the engine's standalone coordinator.
public struct QuorumRules: Sendable {
    public var minReplicas: Int
    public var joinTimeout: TimeInterval

    public init(minReplicas: Int, joinTimeout: TimeInterval) {
        self.minReplicas = minReplicas
        self.joinTimeout = joinTimeout
    }

    public struct Input<Member: Hashable & Comparable> {
        /// Members of the last formed quorum.
        public var previous: Set<Member>
        /// Joiners that announced this step (recovered at the boundary before it).
        public var announced: Set<Member>
        /// Members known to be gone (deathrattle, lost heartbeat, failed probe).
        public var gone: Set<Member>
        /// Members that asked to join this step.
        public var joined: Set<Member>
        /// Members alive now, for the majority rule.
        public var alive: Int
        public var firstJoin: Date
        public var now: Date

        public init(previous: Set<Member>, announced: Set<Member> = [], gone: Set<Member> = [], joined: Set<Member>,
                    alive: Int, firstJoin: Date, now: Date) {
            self.previous = previous
            self.announced = announced
            self.gone = gone
            self.joined = joined
            self.alive = alive
            self.firstJoin = firstJoin
            self.now = now
        }
    }

    public enum Outcome<Member: Hashable & Comparable & Sendable>: Equatable, Sendable {
        /// Form the quorum with these members, in ring order.
        case form([Member])
        /// Look again at this time (the join timeout), or when someone else asks.
        case waitUntil(Date)
        /// Not enough members even after the timeout: the run is degraded; look again when someone asks.
        case belowMinimum(have: Int, need: Int)
    }

    public func decide<Member: Sendable>(_ input: Input<Member>) -> Outcome<Member> {
        let expected = input.previous.union(input.announced).subtracting(input.gone.subtracting(input.joined))
        let complete = input.joined.isSuperset(of: expected)
        let deadline = input.firstJoin.addingTimeInterval(joinTimeout)
        guard complete || input.now >= deadline else { return .waitUntil(deadline) }
        let need = max(minReplicas, input.alive / 2 + 1)
        guard input.joined.count >= need else { return .belowMinimum(have: input.joined.count, need: need) }
        return .form(input.joined.sorted())
    }
}

/// Spreads joiners over up-to-date donors: no donor serves two joiners while another donor is free.
public enum DonorAssignment {
    /// `load` counts transfers each donor is serving now; returns joiner -> donor.
    public static func assign<Member: Hashable & Comparable>(joiners: [Member], donors: [Member], load: [Member: Int] = [:]) -> [Member: Member] {
        guard !donors.isEmpty else { return [:] }
        var current = Dictionary(uniqueKeysWithValues: donors.map { ($0, load[$0] ?? 0) })
        var out: [Member: Member] = [:]
        for joiner in joiners.sorted() {
            let donor = donors.min { (current[$0]!, $0) < (current[$1]!, $1) }!
            out[joiner] = donor
            current[donor, default: 0] += 1
        }
        return out
    }
}
