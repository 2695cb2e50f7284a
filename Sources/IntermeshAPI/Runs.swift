import Foundation

/// Where a run is in its life.
public enum RunPhase: String, Codable, Sendable {
    case running
    case stopped
    case failed
}

/// An immutable, numbered revision: what was applied, its canonical form and plan, who applied it and when.
public struct RevisionRecord: Codable, Sendable, Hashable {
    public var run: String
    public var number: Int
    public var specText: String
    public var canonical: String
    public var plan: String
    public var contentHash: String
    public var appliedBy: String
    public var appliedAt: Date
    /// Set when this is one site's view, as its agent reads it: `plan` holds that site whole and the others' addresses
    /// only (`Plan.scoped(to:)`); `specText` and `canonical`, which hold every site, are empty.
    public var site: String?

    public init(run: String, number: Int, specText: String, canonical: String, plan: String, contentHash: String, appliedBy: String,
                appliedAt: Date, site: String? = nil) {
        self.run = run
        self.number = number
        self.specText = specText
        self.canonical = canonical
        self.plan = plan
        self.contentHash = contentHash
        self.appliedBy = appliedBy
        self.appliedAt = appliedAt
        self.site = site
    }
}

/// One entry of a run's event log; ids are contiguous per store.
public struct EventRecord: Codable, Sendable, Hashable {
    public var id: Int64
    public var run: String
    public var time: Date
    public var kind: String
    public var message: String

    public init(id: Int64, run: String, time: Date, kind: String, message: String) {
        self.id = id
        self.run = run
        self.time = time
        self.kind = kind
        self.message = message
    }
}

/// What a token may do. Agents (and engines) are scoped to one run and one site.
public enum Role: String, Codable, Sendable, CaseIterable {
    case admin
    case `operator`
    case viewer
    case agent
}

/// A run as `intermesh get runs` lists it.
public struct RunSummary: Codable, Sendable {
    public var name: String
    public var phase: RunPhase
    public var revision: Int
    public var generation: Int
    public var outerStep: Int
    public var replicas: Int
    public var sites: Int
    public var updatedAt: Date

    public init(name: String, phase: RunPhase, revision: Int, generation: Int, outerStep: Int, replicas: Int, sites: Int, updatedAt: Date) {
        self.name = name
        self.phase = phase
        self.revision = revision
        self.generation = generation
        self.outerStep = outerStep
        self.replicas = replicas
        self.sites = sites
        self.updatedAt = updatedAt
    }
}

/// One site of `intermesh describe run`: its launcher, desired and live replicas.
public struct SiteStatus: Codable, Sendable {
    public var name: String
    public var launcher: String
    public var desired: Int
    public var live: Int
    /// The plan's replica slots, in order.
    public var slots: [String]
    /// Slots left down after crash-looping past their restart budget.
    public var quarantined: [String]
    /// The link as its live members measured it, against the declared bandwidth.
    public var link: SiteLink?

    public init(name: String, launcher: String, desired: Int, live: Int, slots: [String] = [], quarantined: [String] = [],
                link: SiteLink? = nil) {
        self.link = link
        self.name = name
        self.launcher = launcher
        self.desired = desired
        self.live = live
        self.slots = slots
        self.quarantined = quarantined
    }
}

/// `intermesh describe run`: phase, conditions, active revision and sites.
public struct RunDescription: Codable, Sendable {
    public var name: String
    public var phase: RunPhase
    public var generation: Int
    public var activeRevision: Int
    public var contentHash: String
    public var appliedBy: String
    public var appliedAt: Date
    public var outerStep: Int
    public var conditions: [RunCondition]
    public var sites: [SiteStatus]

    public init(name: String, phase: RunPhase, generation: Int, activeRevision: Int, contentHash: String, appliedBy: String,
                appliedAt: Date, outerStep: Int, conditions: [RunCondition], sites: [SiteStatus]) {
        self.name = name
        self.phase = phase
        self.generation = generation
        self.activeRevision = activeRevision
        self.contentHash = contentHash
        self.appliedBy = appliedBy
        self.appliedAt = appliedAt
        self.outerStep = outerStep
        self.conditions = conditions
        self.sites = sites
    }
}

/// A revision in `GET /v1/runs/RUN/revisions`.
public struct RevisionSummary: Codable, Sendable {
    public var number: Int
    public var contentHash: String
    public var appliedBy: String
    public var appliedAt: Date
    public var active: Bool

    public init(number: Int, contentHash: String, appliedBy: String, appliedAt: Date, active: Bool) {
        self.number = number
        self.contentHash = contentHash
        self.appliedBy = appliedBy
        self.appliedAt = appliedAt
        self.active = active
    }
}

/// `POST /v1/runs`: a spec to apply, optionally only over a given revision.
public struct ApplyBody: Codable, Sendable {
    public var spec: String
    /// Refuse unless the run's current revision is this number (0: the run must not exist yet).
    public var checkRevision: Int?

    public init(spec: String, checkRevision: Int? = nil) {
        self.spec = spec
        self.checkRevision = checkRevision
    }
}

public struct ApplyResponse: Codable, Sendable {
    public enum Outcome: String, Codable, Sendable {
        case created, updated, unchanged
    }

    public var run: String
    public var revision: Int
    public var contentHash: String
    public var outcome: Outcome
    public var warnings: [String]
    /// How the new revision rolls out (`hot: activates at outer step 11 on every site`); nil for a new run or no change.
    public var rollout: String?

    public init(run: String, revision: Int, contentHash: String, outcome: Outcome, warnings: [String], rollout: String?) {
        self.run = run
        self.revision = revision
        self.contentHash = contentHash
        self.outcome = outcome
        self.warnings = warnings
        self.rollout = rollout
    }
}

/// The answer to `POST /v1/runs/RUN/stop` and `DELETE /v1/runs/RUN`.
public struct RunChange: Codable, Sendable {
    public var run: String
    public var phase: RunPhase?
    public var deleted: Bool?

    public init(run: String, phase: RunPhase? = nil, deleted: Bool? = nil) {
        self.run = run
        self.phase = phase
        self.deleted = deleted
    }
}

public struct TokenRequest: Codable, Sendable {
    public var role: Role
    public var run: String?
    public var site: String?
    public var description: String?
    /// Seconds until the token expires (1 to 10 years); nil: it does not expire.
    public var ttlSeconds: Int?

    public init(role: Role, run: String? = nil, site: String? = nil, description: String? = nil, ttlSeconds: Int? = nil) {
        self.role = role
        self.run = run
        self.site = site
        self.description = description
        self.ttlSeconds = ttlSeconds
    }

    public static let maxTTLSeconds = 10 * 366 * 86400
}

public struct TokenRevoked: Codable, Sendable {
    public var id: String
    public var revoked: Bool

    public init(id: String, revoked: Bool) {
        self.id = id
        self.revoked = revoked
    }
}

/// A token as listed: who it is for and until when, never its secret.
public struct TokenInfo: Codable, Sendable, Equatable {
    public var id: String
    public var role: Role
    public var run: String?
    public var site: String?
    public var description: String
    public var createdAt: Date
    public var expiresAt: Date?

    public init(id: String, role: Role, run: String?, site: String?, description: String, createdAt: Date, expiresAt: Date?) {
        self.id = id
        self.role = role
        self.run = run
        self.site = site
        self.description = description
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

public struct TokenResponse: Codable, Sendable {
    public var id: String
    public var role: Role
    public var run: String?
    public var site: String?
    /// Shown once; only a salted hash is stored.
    public var token: String
    public var expiresAt: Date?

    public init(id: String, role: Role, run: String?, site: String?, token: String, expiresAt: Date? = nil) {
        self.id = id
        self.role = role
        self.run = run
        self.site = site
        self.token = token
        self.expiresAt = expiresAt
    }
}
