import Foundation

/// One site's progress in the current rollout.
public struct SiteRollout: Codable, Sendable, Equatable {
    public var site: String
    /// Live members.
    public var members: Int
    /// Members that loaded the rollout's revision.
    public var acknowledged: Int
    /// Members training with it.
    public var active: Int
    /// Relaunches its agent still has to do (restart-class changes); nil when not reported.
    public var pendingRestarts: Int?
    /// Whether the revision reaches this site now (a canary reaches only the canary sites).
    public var covered: Bool

    public init(site: String, members: Int, acknowledged: Int, active: Int, pendingRestarts: Int?, covered: Bool) {
        self.site = site
        self.members = members
        self.acknowledged = acknowledged
        self.active = active
        self.pendingRestarts = pendingRestarts
        self.covered = covered
    }
}

public struct RolloutStatus: Codable, Sendable, Equatable {
    public var run: String
    public var activeRevision: Int
    public var outerStep: Int
    public var paused: Bool
    public var rollout: Rollout?
    public var sites: [SiteRollout]
    public var schedule: [RevisionSchedule.Entry]

    public init(run: String, activeRevision: Int, outerStep: Int, paused: Bool, rollout: Rollout?, sites: [SiteRollout],
                schedule: [RevisionSchedule.Entry]) {
        self.run = run
        self.activeRevision = activeRevision
        self.outerStep = outerStep
        self.paused = paused
        self.rollout = rollout
        self.sites = sites
        self.schedule = schedule
    }
}

/// A revision in the rollout history: who applied it, when, what it changed, and how its rollout ended.
public struct HistoryEntry: Codable, Sendable {
    public var revision: Int
    public var contentHash: String
    public var appliedBy: String
    public var appliedAt: Date
    /// The diff's summary against the revision before it.
    public var summary: String
    public var changes: [String]
    /// The same changes as data, each with its class (what `diff -f` prints); the console shows them.
    public var fields: [FieldChange]
    /// The rollout's phase (`complete`, `reverted`, ...); nil for the first revision.
    public var outcome: Rollout.Phase?
    public var reason: String?
    public var active: Bool

    public init(revision: Int, contentHash: String, appliedBy: String, appliedAt: Date, summary: String, changes: [String],
                outcome: Rollout.Phase?, reason: String?, active: Bool, fields: [FieldChange] = []) {
        self.revision = revision
        self.fields = fields
        self.contentHash = contentHash
        self.appliedBy = appliedBy
        self.appliedAt = appliedAt
        self.summary = summary
        self.changes = changes
        self.outcome = outcome
        self.reason = reason
        self.active = active
    }
}

/// `POST /v1/runs/RUN/rollout/undo`: go back to a revision (by default the one the current rollout started from).
public struct UndoBody: Codable, Sendable {
    public var toRevision: Int?

    public init(toRevision: Int? = nil) {
        self.toRevision = toRevision
    }
}

/// The rollout verbs that take no body: `POST /v1/runs/RUN/rollout/VERB`.
public enum RolloutVerb: String, Codable, Sendable, CaseIterable {
    case pause, resume, promote
}
