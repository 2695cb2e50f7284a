import Foundation

/// How one revision reaches the running members.
public struct Rollout: Codable, Sendable, Equatable {
    public enum Strategy: String, Codable, Sendable {
        /// Every member switches at the activation step.
        case hot
        /// Site-local changes go to the canary sites first; promoted or reverted at the gate.
        case canary
        /// Some sites relaunch their replicas one at a time; hot fields switch at the activation step.
        case restart
    }

    public enum Phase: String, Codable, Sendable {
        /// Applied while paused: no activation step yet.
        case pending
        /// Announced; members acknowledge it and switch at the activation step.
        case activating
        /// Canary sites run it; the gate decides at `gateStep`.
        case canary
        /// The gate passed but promotion waits for `rollout promote` (promotion.automatic: false).
        case awaitingPromotion
        /// Active on every member; relaunches of restart-class sites still going.
        case restarting
        case complete
        case reverted
        /// A later revision was applied before this one finished.
        case superseded

        public var finished: Bool { self == .complete || self == .reverted || self == .superseded }
    }

    public var revision: Int
    /// The revision the run was on (the last one active on every site).
    public var from: Int
    public var strategy: Strategy
    public var phase: Phase
    public var activationStep: Int?
    public var canarySites: [String]
    public var gateStep: Int?
    /// A canary that went to every site.
    public var promoted: Bool
    /// Sites whose replicas are relaunched; `*` for every site.
    public var restartSites: [String]
    /// The diff's summary line.
    public var summary: String
    public var appliedBy: String
    public var startedAt: Date
    /// When every live member had acknowledged the revision.
    public var acknowledgedAt: Date?
    /// When every live member of the covered sites was training with it.
    public var activatedAt: Date?
    public var finishedAt: Date?
    /// Why it was promoted, reverted or superseded.
    public var reason: String?

    public init(revision: Int, from: Int, strategy: Strategy, canarySites: [String] = [], restartSites: [String] = [], summary: String,
                appliedBy: String, startedAt: Date) {
        self.revision = revision
        self.from = from
        self.strategy = strategy
        phase = .pending
        promoted = false
        self.canarySites = canarySites
        self.restartSites = restartSites
        self.summary = summary
        self.appliedBy = appliedBy
        self.startedAt = startedAt
    }
}

/// A run's rollouts: the revision schedule members follow, the rollout in progress, and past ones.
public struct RolloutState: Codable, Sendable, Equatable {
    public var schedule: RevisionSchedule
    public var current: Rollout?
    /// Finished rollouts, oldest first (the last 100).
    public var history: [Rollout]
    /// Set by `rollout pause`: no rollout advances (no new activation step, promotion or relaunch).
    public var paused: Bool

    public init(schedule: RevisionSchedule = RevisionSchedule(), current: Rollout? = nil, history: [Rollout] = [], paused: Bool = false) {
        self.schedule = schedule
        self.current = current
        self.history = history
        self.paused = paused
    }

    /// A new run: revision 1 from step 0 everywhere.
    public static func initial(revision: Int) -> RolloutState {
        RolloutState(schedule: RevisionSchedule(entries: [.init(revision: revision, fromStep: 0)]))
    }

    /// Keeps a finished rollout in the history (the last 100).
    public mutating func archive(_ rollout: Rollout) {
        history.append(rollout)
        if history.count > 100 { history.removeFirst(history.count - 100) }
    }
}
