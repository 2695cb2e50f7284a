import IntermeshAPI
import IntermeshPlan

/// The members of one outer step's all-reduce, as a coordinator decided them.
public struct Quorum: Sendable, Equatable {
    /// Monotonic across the run.
    public var id: UInt64
    public var step: Int
    /// Indices into the run's replica list, ascending: the ring order.
    public var members: [Int]
    /// Each member's weight in the outer average, in ring order (canaries in shadow count less); nil: all 1.
    public var weights: [Float]?

    public init(id: UInt64, step: Int, members: [Int], weights: [Float]? = nil) {
        self.id = id
        self.step = step
        self.members = members
        self.weights = weights
    }
}

/// How a replica learns each outer step's quorum. Two implementations: standalone (a static list of
/// peers, the lowest live member of the last quorum coordinating) and managed (the control plane).
public protocol Membership: AnyObject, Sendable {
    /// Asks to take part in outer step `step`; `failed` retries a step whose all-reduce failed in that
    /// quorum, reporting the peers it suspects. Throws `MembershipError.missedStep` when the step's quorum
    /// was formed without this member (it must recover and join a later step).
    func join(step: Int, failed: Quorum?, suspects: [Int]) throws -> Quorum

    /// Announces that this member, recovered for the boundary after `step - 1`, joins at `step`.
    func intend(step: Int) throws

    /// The deathrattle: this member leaves now and must not be waited for.
    func leave()

    /// Records the quorum this member completed a step with (the standalone mode picks coordinators from it).
    func completed(_ quorum: Quorum)

    /// Live peers that have completed more than `step` outer steps, to recover from; best first.
    func donors(newerThan step: Int) -> [(peer: Int, outerStep: Int)]

    /// What this member is doing, for its heartbeats.
    func report(state: MemberState, outerStep: Int)

    /// The last outer step's mean training loss, inner-step throughput and the global parameters' evaluation loss
    /// per data source, for heartbeats.
    func report(loss: Double, tokensPerSecond: Double, evalBySource: [String: Double])

    /// This member's link toward the next member of the last outer step's ring: megabits per second as the kernel
    /// measured it (nil: too short to time), and that member's slot; for heartbeats (a slow link shows in `describe`
    /// and the console).
    func report(uplinkMbps: Double?, to slot: String?)

    /// Where peer `index` (a member index of a quorum or a donor list) listens.
    func peer(_ index: Int) -> PeerAddress

    /// Set when the control plane wants this member gone: it leaves after contributing its current outer step.
    var drainRequested: Bool { get }

    /// The revision this member's site trains outer step `step` with, and its plan, when the control plane
    /// scheduled one that is loaded; nil keeps the current settings.
    func revision(forStep step: Int) -> (number: Int, plan: Plan)?

    /// The revision trained with now and the evaluation loss of the local parameters at the last outer step.
    func report(activeRevision: Int, evalLoss: Double?)
}

extension Membership {
    public func report(loss: Double, tokensPerSecond: Double, evalBySource: [String: Double]) {}
    public var drainRequested: Bool { false }
    public func revision(forStep step: Int) -> (number: Int, plan: Plan)? { nil }
    public func report(activeRevision: Int, evalLoss: Double?) {}
    public func report(uplinkMbps: Double?, to slot: String?) {}
}

public enum MembershipError: Error, CustomStringConvertible {
    case missedStep(Int)
    /// This member trained the step with another revision than the step's: it trains the step again with that one.
    case staleRevision(step: Int, revision: Int)
    case noQuorum(String)
    /// A stop signal arrived while waiting.
    case stopped
    /// Neither the control plane (for this many seconds, past `faultPolicy.orphanTimeout`) nor the agent answers.
    case orphaned(seconds: Int)
    /// The control plane lost this member (silent past the heartbeat timeout and any disconnect grace) and relaunched
    /// its slot: it stops without writing anything, so two incarnations never train one slot.
    case replaced

    public var description: String {
        switch self {
        case let .missedStep(step): return "the quorum of outer step \(step) was formed without this member"
        case let .staleRevision(step, revision): return "outer step \(step) trains with revision \(revision), not this member's"
        case let .noQuorum(reason): return "no quorum: \(reason)"
        case .stopped: return "stopped while waiting for a quorum"
        case let .orphaned(seconds): return "orphaned: no answer from the control plane for \(seconds) s, and the agent is gone"
        case .replaced: return "replaced: the control plane lost this member and relaunched its slot"
        }
    }
}
