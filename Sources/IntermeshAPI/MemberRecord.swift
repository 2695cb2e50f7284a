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
    /// Mean training loss of the member's last outer step, and its inner-step throughput.
    public var loss: Double?
    public var tokensPerSecond: Double?
    /// Where the member's leader listens, as it advertises itself (peers learn addresses from quorum answers).
    public var address: MemberAddress?
    /// Rollouts: the newest revision loaded, the one in use, and the eval loss of the local parameters.
    public var acknowledged: Int?
    public var activeRevision: Int?
    public var evalLoss: Double?
    /// Its link toward the next member of its last ring, as measured (`MemberBeat.uplinkMbps`, `uplinkTo`).
    public var uplinkMbps: Double?
    public var uplinkTo: String?

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

    /// Heard from within `timeout` before `now` and not leaving: counted live, waited for by quorums.
    public func isLive(at now: Date, timeout: TimeInterval) -> Bool {
        !leaving && now.timeIntervalSince(lastHeartbeat) <= timeout
    }

    /// Past joining and recovering: it holds the run's current parameters.
    public var isReady: Bool {
        state != .joining && state != .recovering
    }
}

/// A member leader's endpoints: the outer all-reduce ring and the control (live recovery) port.
public struct MemberAddress: Codable, Sendable, Hashable {
    public var host: String
    public var ringPort: Int
    public var controlPort: Int

    public init(host: String, ringPort: Int, controlPort: Int) {
        self.host = host
        self.ringPort = ringPort
        self.controlPort = controlPort
    }
}

/// A run condition, as in Kubernetes: a type, a status, why, and the generation it was computed for.
public struct RunCondition: Codable, Sendable, Hashable {
    public var type: String
    public var status: Bool
    public var reason: String
    public var message: String
    public var observedGeneration: Int
    /// When `status` last changed.
    public var lastTransitionTime: Date?

    public init(type: String, status: Bool, reason: String, message: String, observedGeneration: Int, lastTransitionTime: Date? = nil) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.observedGeneration = observedGeneration
        self.lastTransitionTime = lastTransitionTime
    }
}
