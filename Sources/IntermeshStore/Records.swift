import Foundation
import IntermeshAPI
import IntermeshControl

/// A run: its active revision and what the control plane last observed of it.
public struct RunRecord: Codable, Sendable, Hashable {
    public var name: String
    /// Bumped by every accepted change of the spec: the number of the newest revision.
    public var generation: Int
    /// The revision whose plan the mesh is reconciled to.
    public var activeRevision: Int
    public var phase: RunPhase
    public var outerStep: Int
    public var conditions: [RunCondition]
    public var createdAt: Date
    public var updatedAt: Date
}

/// The outcome of an apply.
public enum ApplyOutcome: Sendable, Equatable {
    case created(RevisionRecord)
    case updated(RevisionRecord)
    /// The spec's content equals the active revision's: nothing was written.
    case unchanged(RevisionRecord)

    public var revision: RevisionRecord {
        switch self {
        case let .created(r), let .updated(r), let .unchanged(r): return r
        }
    }
}

/// What a store refuses; other failures are I/O errors.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// `checkRevision` did not match the run's current revision.
        case conflict(current: Int)
        case notFound
        /// Another process has the store open.
        case locked
        /// The store's files could not be created.
        case io
        /// This server's lease on a shared store ended: another server may be active, and this one writes nothing.
        case fenced
    }

    public var code: Code
    public var message: String

    public var description: String { message }
}

/// Data to write for an apply.
public struct ApplyRequest: Sendable {
    public var run: String
    public var specText: String
    public var canonical: String
    public var plan: String
    public var contentHash: String
    public var appliedBy: String
    /// Refuse unless the run's current revision is this number (0: the run must not exist yet).
    public var checkRevision: Int?
    public var now: Date
    /// Plans the new revision's rollout from the run's stored rollout state (nil for a new run), inside the
    /// apply's transaction; returns the new state and the events that say so.
    public var rollout: (@Sendable (_ revision: Int, _ state: RolloutState?) -> (RolloutState, [String]))?

    public init(run: String, specText: String, canonical: String, plan: String, contentHash: String, appliedBy: String,
                checkRevision: Int?, now: Date) {
        self.run = run
        self.specText = specText
        self.canonical = canonical
        self.plan = plan
        self.contentHash = contentHash
        self.appliedBy = appliedBy
        self.checkRevision = checkRevision
        self.now = now
        rollout = nil
    }
}

/// A change of a run's rollout state, with the events that say so and, on a revert, its new active revision.
public struct RolloutUpdate: Sendable {
    public var state: RolloutState
    public var events: [String]
    public var activeRevision: Int?

    public init(state: RolloutState, events: [String], activeRevision: Int? = nil) {
        self.state = state
        self.events = events
        self.activeRevision = activeRevision
    }
}
