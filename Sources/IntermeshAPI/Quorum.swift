import Foundation

/// `POST .../quorum`, `.../intent` and `.../donor`: a member asks about an outer step.
public struct QuorumRequest: Codable, Sendable {
    public var step: Int
    /// The member's replica slot (`site/index`).
    public var slot: String
    /// The quorum id whose all-reduce failed, when retrying a step.
    public var failed: UInt64?
    /// The revision the member trained this step with; a member on another revision than the step's is not admitted.
    public var revision: Int?
    /// The asking member's id: a member lost and replaced (its slot relaunched) is refused with 409 `replaced`.
    public var member: String?

    public init(step: Int, slot: String, failed: UInt64? = nil, revision: Int? = nil, member: String? = nil) {
        self.step = step
        self.slot = slot
        self.failed = failed
        self.revision = revision
        self.member = member
    }
}

/// The members of one outer step's all-reduce, as the control plane decided them.
public struct QuorumDecision: Codable, Sendable, Equatable {
    /// Monotonic across the run.
    public var id: UInt64
    public var step: Int
    /// The members' slots, in ring order.
    public var slots: [String]

    public init(id: UInt64, step: Int, slots: [String]) {
        self.id = id
        self.step = step
        self.slots = slots
    }
}

public struct QuorumResponse: Codable, Sendable {
    public enum Status: String, Codable, Sendable {
        /// The quorum is formed: `quorum`, `ring` and (for canaries in shadow) `weights` say who and where.
        case formed
        /// The step went on without this member: it recovers and joins a later one.
        case missed
        /// The member trained the step with another revision than `revision`: it trains the step again with it.
        case stale
        /// Not decided within the long poll: ask again.
        case waiting
    }

    public var status: Status
    /// With `stale`: the revision of the step.
    public var revision: Int?
    /// With `formed`, when some members count less in the outer average (canaries in shadow): each ring member's
    /// weight, in ring order; absent when every weight is 1.
    public var weights: [Double]?
    public var quorum: QuorumDecision?
    /// The ring's members with their addresses, in ring order.
    public var ring: [RingMember]

    public init(status: Status, revision: Int? = nil, weights: [Double]? = nil, quorum: QuorumDecision? = nil, ring: [RingMember] = []) {
        self.status = status
        self.revision = revision
        self.weights = weights
        self.quorum = quorum
        self.ring = ring
    }
}

/// A quorum member's slot and where its leader listens.
public struct RingMember: Codable, Sendable, Equatable {
    public var slot: String
    public var host: String
    public var ringPort: Int
    public var controlPort: Int

    public init(slot: String, host: String, ringPort: Int, controlPort: Int) {
        self.slot = slot
        self.host = host
        self.ringPort = ringPort
        self.controlPort = controlPort
    }
}

/// A live, up-to-date member a joiner recovers from.
public struct DonorResponse: Codable, Sendable {
    public var slot: String
    public var host: String
    public var controlPort: Int
    public var ringPort: Int
    public var outerStep: Int

    public init(slot: String, host: String, controlPort: Int, ringPort: Int, outerStep: Int) {
        self.slot = slot
        self.host = host
        self.controlPort = controlPort
        self.ringPort = ringPort
        self.outerStep = outerStep
    }
}

/// The answer to an announced join (`.../intent`).
public struct IntentResponse: Codable, Sendable {
    public var step: Int

    public init(step: Int) {
        self.step = step
    }
}
