import Foundation

/// `GET /v1/whoami`: the caller's token, as the server sees it (the console shows only what the role may do).
public struct WhoAmI: Codable, Sendable, Equatable {
    public var tokenId: String
    public var role: Role
    public var run: String?
    public var site: String?

    public init(tokenId: String, role: Role, run: String?, site: String?) {
        self.tokenId = tokenId
        self.role = role
        self.run = run
        self.site = site
    }
}

/// `GET /v1/runs/RUN/view`: one run as the console draws it: the run's status, a map of sites x replica slots, the
/// rollout in progress with its canary gate. `?watch=true` streams it (server-sent events).
public struct RunView: Codable, Sendable, Equatable {
    public var name: String
    public var phase: RunPhase
    public var conditions: [RunCondition]
    public var activeRevision: Int
    public var generation: Int
    public var outerStep: Int
    /// When the last quorum formed (the Intermesh and torchft quorum endpoints), if one did since the server started.
    public var lastQuorumAt: Date?
    public var live: Int
    public var desired: Int
    public var heartbeatTimeoutSeconds: Double
    public var sites: [SiteView]
    public var rollout: RolloutStatus
    public var gate: CanaryGate?
    /// The server's clock when it took the view: the console shows heartbeat ages against it, not the browser's clock.
    public var now: Date

    public init(name: String, phase: RunPhase, conditions: [RunCondition], activeRevision: Int, generation: Int, outerStep: Int,
                lastQuorumAt: Date?, live: Int, desired: Int, heartbeatTimeoutSeconds: Double, sites: [SiteView], rollout: RolloutStatus,
                gate: CanaryGate?, now: Date) {
        self.name = name
        self.phase = phase
        self.conditions = conditions
        self.activeRevision = activeRevision
        self.generation = generation
        self.outerStep = outerStep
        self.lastQuorumAt = lastQuorumAt
        self.live = live
        self.desired = desired
        self.heartbeatTimeoutSeconds = heartbeatTimeoutSeconds
        self.sites = sites
        self.rollout = rollout
        self.gate = gate
        self.now = now
    }
}

/// One site in the console's map: its link and its replica slots.
public struct SiteView: Codable, Sendable, Equatable {
    public var name: String
    public var region: String?
    public var launcher: String
    /// The link as the spec states it ("1Gbps"), and the plan's estimate of one outer sync over it.
    public var bandwidth: String
    public var syncSeconds: Double?
    public var slots: [SlotView]
    /// The link as its live members measured it, against the declared bandwidth.
    public var link: SiteLink?

    public init(name: String, region: String?, launcher: String, bandwidth: String, syncSeconds: Double?, slots: [SlotView],
                link: SiteLink? = nil) {
        self.link = link
        self.name = name
        self.region = region
        self.launcher = launcher
        self.bandwidth = bandwidth
        self.syncSeconds = syncSeconds
        self.slots = slots
    }
}

/// One replica slot and its newest member.
public struct SlotView: Codable, Sendable, Equatable {
    public enum Health: String, Codable, Sendable {
        /// Heartbeating within the timeout.
        case live
        /// It had a member, and none is live now (it exited, or went silent past the heartbeat timeout): lost until a
        /// new incarnation checks in.
        case lost
        /// Silent past the heartbeat timeout, within `faultPolicy.disconnectGrace`: out of quorums, its slot kept for it.
        case disconnected
        /// Leaving: it said so (a deathrattle) or was told to drain.
        case leaving
        /// Never launched yet.
        case missing
        /// Held out after flapping (the fault policy's quarantine).
        case quarantined
    }

    public var slot: String
    public var health: Health
    public var member: String?
    public var incarnation: Int?
    public var state: MemberState?
    public var outerStep: Int?
    public var activeRevision: Int?
    public var acknowledged: Int?
    public var lastHeartbeat: Date?
    public var loss: Double?
    public var tokensPerSecond: Double?
    /// The member last launched for the slot (a lost slot's member is gone from the membership).
    public var lastMember: String?
    /// Its link toward the next member of its last ring, as measured, and that member's slot.
    public var uplinkMbps: Double?
    public var uplinkTo: String?

    public init(slot: String, health: Health, member: MemberRecord? = nil, lastMember: String? = nil) {
        uplinkMbps = member?.uplinkMbps
        uplinkTo = member?.uplinkTo
        self.slot = slot
        self.lastMember = lastMember
        self.health = health
        self.member = member?.id
        incarnation = member?.incarnation
        state = member?.state
        outerStep = member?.outerStep
        activeRevision = member?.activeRevision
        acknowledged = member?.acknowledged
        lastHeartbeat = member?.lastHeartbeat
        loss = member?.loss
        tokensPerSecond = member?.tokensPerSecond
    }
}

/// A canary's gate as it stands: the canaries' mean evaluation loss against the other sites', and the tolerance.
public struct CanaryGate: Codable, Sendable, Equatable {
    public var canarySites: [String]
    public var gateStep: Int?
    public var canaryLoss: Double?
    public var otherLoss: Double?
    /// The largest excess of the canaries' loss over the others' that passes (0.05: 5 %).
    public var tolerance: Double

    public init(canarySites: [String], gateStep: Int?, canaryLoss: Double?, otherLoss: Double?, tolerance: Double) {
        self.canarySites = canarySites
        self.gateStep = gateStep
        self.canaryLoss = canaryLoss
        self.otherLoss = otherLoss
        self.tolerance = tolerance
    }
}

/// `GET /v1/runs/RUN/series`: what the control plane kept of members' reports, for charts. Points are
/// `[outerStep, value]` pairs, oldest first.
public struct RunSeries: Codable, Sendable, Equatable {
    public struct Quorum: Codable, Sendable, Equatable {
        public var step: Int
        public var size: Int
        public var at: Date

        public init(step: Int, size: Int, at: Date) {
            self.step = step
            self.size = size
            self.at = at
        }
    }

    /// Changes whenever a point is added: the console's stream sends the series again only then.
    public var version: Int
    public var quorums: [Quorum]
    /// Training loss per replica slot (the mean over its last outer step's inner steps).
    public var loss: [String: [[Double]]]
    /// Evaluation loss of the global parameters per data source.
    public var eval: [String: [[Double]]]

    public init(version: Int = 0, quorums: [Quorum] = [], loss: [String: [[Double]]] = [:], eval: [String: [[Double]]] = [:]) {
        self.version = version
        self.quorums = quorums
        self.loss = loss
        self.eval = eval
    }
}

/// One changed field of a revision against the one before it, with the class `diff -f` gives it.
public struct FieldChange: Codable, Sendable, Equatable {
    public var path: String
    /// `+` added, `-` removed, `~` changed.
    public var kind: String
    public var old: String?
    public var new: String?
    /// hot, site-local, restart, scale, control or immutable.
    public var changeClass: String
    public var site: String?

    public init(path: String, kind: String, old: String?, new: String?, changeClass: String, site: String?) {
        self.path = path
        self.kind = kind
        self.old = old
        self.new = new
        self.changeClass = changeClass
        self.site = site
    }

    enum CodingKeys: String, CodingKey {
        case path, kind, old, new, changeClass = "class", site
    }
}
