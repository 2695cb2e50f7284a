import Foundation

/// What a member (one running incarnation of a replica slot) reports in its heartbeats.
public enum MemberState: String, Codable, Sendable, CaseIterable {
    case joining, recovering, training, syncing, checkpointing, draining
}

/// The control plane's view of one member.
public struct MemberRecord: Codable, Sendable, Hashable {
    public var id: String
    public var site: String
    public var slot: String
    public var incarnation: Int
    public var state: MemberState
    public var outerStep: Int
    /// Content hash of the revision the member acknowledged.
    public var revision: String?
    public var lastHeartbeat: Date
    /// Set by a deathrattle: the member is leaving and must not be waited for.
    public var leaving: Bool

    public init(id: String, site: String, slot: String, incarnation: Int = 1, state: MemberState = .training, outerStep: Int = 0,
                revision: String? = nil, lastHeartbeat: Date, leaving: Bool = false) {
        self.id = id
        self.site = site
        self.slot = slot
        self.incarnation = incarnation
        self.state = state
        self.outerStep = outerStep
        self.revision = revision
        self.lastHeartbeat = lastHeartbeat
        self.leaving = leaving
    }
}

/// Launch history of one replica slot, for its restart budget.
public struct SlotRecord: Codable, Sendable, Hashable {
    public var launches: [Date]
    public var quarantined: Bool

    public init(launches: [Date] = [], quarantined: Bool = false) {
        self.launches = launches
        self.quarantined = quarantined
    }
}

/// A run condition, as in Kubernetes: a type, a status, why, and the generation it was computed for.
public struct RunCondition: Codable, Sendable, Hashable {
    public var type: String
    public var status: Bool
    public var reason: String
    public var message: String
    public var observedGeneration: Int

    public init(type: String, status: Bool, reason: String, message: String, observedGeneration: Int) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.observedGeneration = observedGeneration
    }
}
