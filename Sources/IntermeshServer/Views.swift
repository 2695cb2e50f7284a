import Foundation
import IntermeshControl
import IntermeshPlan
import IntermeshStore

/// JSON shapes of the API. Field names are stable: scripts read them (`intermesh get -o json`).
public struct ApplyResponse: Codable, Sendable {
    public var run: String
    public var revision: Int
    public var contentHash: String
    /// `created`, `updated` or `unchanged`.
    public var outcome: String
    public var warnings: [String]
    /// How the new revision rolls out (`hot: activates at outer step 11 on every site`); nil for a new run or no change.
    public var rollout: String?
}

public struct RunSummary: Codable, Sendable {
    public var name: String
    public var phase: String
    public var revision: Int
    public var generation: Int
    public var outerStep: Int
    public var replicas: Int
    public var sites: Int
    public var updatedAt: Date
}

public struct SiteStatus: Codable, Sendable {
    public var name: String
    public var launcher: String
    public var desired: Int
    public var live: Int
}

public struct RunDescription: Codable, Sendable {
    public var name: String
    public var phase: String
    public var generation: Int
    public var activeRevision: Int
    public var contentHash: String
    public var appliedBy: String
    public var appliedAt: Date
    public var outerStep: Int
    public var conditions: [RunCondition]
    public var sites: [SiteStatus]
}

public struct RevisionSummary: Codable, Sendable {
    public var number: Int
    public var contentHash: String
    public var appliedBy: String
    public var appliedAt: Date
    public var active: Bool
}

public struct TokenRequest: Codable, Sendable {
    public var role: Role
    public var run: String?
    public var site: String?
    public var description: String?
}

public struct TokenResponse: Codable, Sendable {
    public var id: String
    public var role: Role
    public var run: String?
    public var site: String?
    /// Shown once; only a salted hash is stored.
    public var token: String
}

public struct ApplyBody: Codable, Sendable {
    public var spec: String
    public var checkRevision: Int?
}

/// One member's heartbeat; an agent batches its site's members into one request.
public struct MemberBeat: Codable, Sendable {
    public var id: String
    public var slot: String
    public var incarnation: Int?
    public var state: MemberState
    public var outerStep: Int?
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
}

extension MemberBeat {
    /// A member id: 1 to 64 ASCII letters, digits or '-' (a UUID, or a name like `m-3-17`).
    static func isValid(id: String) -> Bool {
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

public struct QuorumRequest: Codable, Sendable {
    public var step: Int
    /// The member's replica slot (`site/index`).
    public var slot: String
    /// The quorum id whose all-reduce failed, when retrying a step.
    public var failed: UInt64?
    /// The revision the member trained this step with; a member on another revision than the step's is not admitted.
    public var revision: Int?
}

public struct QuorumResponse: Codable, Sendable {
    /// `formed`, `missed` (the step went on without this member: recover and join a later one), `stale` (the
    /// member trained the step with another revision than `revision`: it trains the step again with it) or `waiting` (ask again).
    public var status: String
    /// With `stale`: the revision of the step.
    public var revision: Int?
    /// With `formed`, when some members count less in the outer average (canaries in shadow): each ring member's
    /// weight, in ring order; absent when every weight is 1.
    public var weights: [Double]?
    public var quorum: QuorumBoard.Decision?
    /// Slots of the quorum's members, in ring order.
    public var slots: [String]
    /// The ring's members with their addresses, in ring order.
    public var ring: [RingMember]
}

/// A quorum member's slot and where its leader listens.
public struct RingMember: Codable, Sendable, Equatable {
    public var slot: String
    public var host: String
    public var ringPort: Int
    public var controlPort: Int
}

public struct DonorResponse: Codable, Sendable {
    public var slot: String
    public var host: String
    public var controlPort: Int
    public var ringPort: Int
    public var outerStep: Int
}

public struct HeartbeatBody: Codable, Sendable {
    public var members: [MemberBeat]
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
}
