import Foundation

/// One member's heartbeat; an agent batches its site's members into one request.
public struct MemberBeat: Codable, Sendable {
    public var id: String
    public var slot: String
    public var incarnation: Int?
    public var state: MemberState
    public var outerStep: Int?
    /// Content hash of the revision the member trains with.
    public var revision: String?
    /// The deathrattle: the member is leaving now.
    public var leaving: Bool?
    public var loss: Double?
    public var tokensPerSecond: Double?
    /// The member leader's ring and control endpoints; peers learn them from quorum answers.
    public var address: MemberAddress?
    /// The newest revision the member has loaded (it switches to it at its activation step).
    public var acknowledged: Int?
    /// The revision it trains with now.
    public var activeRevision: Int?
    /// Evaluation loss of its local parameters at its last outer step (the canary gate compares it).
    public var evalLoss: Double?
    /// Evaluation loss of the global parameters per data source after its last outer step (the console charts it).
    public var evalBySource: [String: Double]?
    /// Connections its ring and recovery ports refused since it started (no valid tag, a replay, a flood).
    public var rejectedConnections: Int?
    /// Its link toward the next member of its last outer step's ring, in megabits per second as the kernel measured
    /// it, and that member's slot: a slow link shows in `describe` and the console.
    public var uplinkMbps: Double?
    public var uplinkTo: String?

    public init(id: String, slot: String, incarnation: Int? = nil, state: MemberState, outerStep: Int? = nil, revision: String? = nil,
                leaving: Bool? = nil, loss: Double? = nil, tokensPerSecond: Double? = nil, address: MemberAddress? = nil,
                acknowledged: Int? = nil, activeRevision: Int? = nil, evalLoss: Double? = nil, evalBySource: [String: Double]? = nil,
                rejectedConnections: Int? = nil, uplinkMbps: Double? = nil, uplinkTo: String? = nil) {
        self.uplinkMbps = uplinkMbps
        self.uplinkTo = uplinkTo
        self.id = id
        self.slot = slot
        self.incarnation = incarnation
        self.state = state
        self.outerStep = outerStep
        self.revision = revision
        self.leaving = leaving
        self.loss = loss
        self.tokensPerSecond = tokensPerSecond
        self.address = address
        self.acknowledged = acknowledged
        self.activeRevision = activeRevision
        self.evalLoss = evalLoss
        self.evalBySource = evalBySource
        self.rejectedConnections = rejectedConnections
    }

    /// The largest outer step a member may report (2^40: a million years at one step a minute). Steps are added to and
    /// compared with in rollout planning; a larger one is refused where it arrives, so none can overflow there.
    public static let maxOuterStep = 1 << 40
    /// A step within 0 to `maxOuterStep`: what rollout planning may compute with, whatever a store written by an
    /// older version holds.
    public static func clamp(step: Int) -> Int {
        min(max(step, 0), maxOuterStep)
    }

    /// The largest incarnation a member may report.
    public static let maxIncarnation = Int(Int32.max)

    /// What is wrong with this beat's numbers, if anything.
    public var rangeError: String? {
        if let outerStep, !(0...Self.maxOuterStep).contains(outerStep) {
            return "member \(id): outerStep \(outerStep) is out of range (0 to \(Self.maxOuterStep))"
        }
        if let incarnation, !(1...Self.maxIncarnation).contains(incarnation) {
            return "member \(id): incarnation \(incarnation) is out of range (1 to \(Self.maxIncarnation))"
        }
        if let sources = evalBySource {
            guard sources.count <= 64 else { return "member \(id): evalBySource names \(sources.count) sources (at most 64)" }
            if let long = sources.keys.first(where: { $0.utf8.count > 128 }) {
                return "member \(id): evalBySource source name '\(long.prefix(32))...' is longer than 128 bytes"
            }
        }
        if let uplinkMbps, !(uplinkMbps.isFinite && uplinkMbps >= 0 && uplinkMbps <= 1e9) {
            return "member \(id): uplinkMbps \(uplinkMbps) is out of range (0 to 1e9)"
        }
        if let uplinkTo, uplinkTo.utf8.count > 256 { return "member \(id): uplinkTo is longer than 256 bytes" }
        for (name, value) in [("acknowledged", acknowledged), ("activeRevision", activeRevision), ("rejectedConnections", rejectedConnections)] {
            if let value, !(0...Self.maxIncarnation).contains(value) { return "member \(id): \(name) \(value) is out of range" }
        }
        return nil
    }

    /// A member id: 1 to 64 ASCII letters, digits or '-' (a UUID, or a name like `m-3-17`).
    public static func isValid(id: String) -> Bool {
        guard (1...64).contains(id.utf8.count) else { return false }
        return id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }
}

public struct HeartbeatBody: Codable, Sendable {
    public var members: [MemberBeat]

    public init(members: [MemberBeat]) {
        self.members = members
    }
}

/// A directive for a site's agent, from the latest reconcile pass.
public struct Directive: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable {
        /// Start a new incarnation of the slot.
        case launch
        /// Drain the member: it contributes its current outer step, then leaves.
        case stop
    }

    public var action: Action
    public var slot: String
    public var member: String?
    public var reason: String?

    public init(action: Action, slot: String, member: String? = nil, reason: String? = nil) {
        self.action = action
        self.slot = slot
        self.member = member
        self.reason = reason
    }
}

public struct HeartbeatResponse: Codable, Sendable {
    /// The active revision: members acknowledge it in their next heartbeat.
    public var activeRevision: Int
    public var contentHash: String
    public var directives: [Directive]
    /// Members of this request that should leave after contributing their current outer step.
    public var drain: [String]
    /// From which outer step each revision is active (members load each and switch at its step).
    public var schedule: [RevisionSchedule.Entry]
    /// Members of this request that were lost (silent past the heartbeat timeout and any disconnect grace) and whose
    /// slots were relaunched: they were not recorded, get no quorum, and must stop without writing anything.
    public var replaced: [String]?

    public init(activeRevision: Int, contentHash: String, directives: [Directive], drain: [String], schedule: [RevisionSchedule.Entry],
                replaced: [String]? = nil) {
        self.activeRevision = activeRevision
        self.contentHash = contentHash
        self.directives = directives
        self.drain = drain
        self.replaced = replaced
        self.schedule = schedule
    }
}

/// `GET .../schedule?after=V&wait=S`: a site's revision schedule, answered once its version differs from `V` or
/// after `S` seconds (a long poll members hold open, so they hear of a new revision at once).
public struct ScheduleResponse: Codable, Sendable {
    /// Changes whenever the run's schedule does; pass it back as `after`.
    public var version: Int
    public var activeRevision: Int
    public var schedule: [RevisionSchedule.Entry]

    public init(version: Int, activeRevision: Int, schedule: [RevisionSchedule.Entry]) {
        self.version = version
        self.activeRevision = activeRevision
        self.schedule = schedule
    }
}
