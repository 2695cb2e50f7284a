import Foundation

/// What a full reconcile pass of a run decided on. Equal keys, no passed heartbeat deadline and no rollout in
/// progress mean a new full pass would decide the same: the pass then only records the outer step.
///
/// A full pass looks at every member (a few hundred milliseconds at 100,000), so it runs only when something it
/// decides on may have changed: a member joined, left or changed slot or incarnation (the membership version), a
/// heartbeat deadline passed, a restart backoff ended (`due`), the revision, phase or generation changed, a rollout
/// is in progress, or launch history changed (the last pass is forgotten).
public struct PassKey: Sendable, Equatable {
    public var membership: Int
    public var revision: Int
    public var phase: String
    public var generation: Int

    public init(membership: Int, revision: Int, phase: String, generation: Int) {
        self.membership = membership
        self.revision = revision
        self.phase = phase
        self.generation = generation
    }

    /// The last full pass: its key, and when a full pass is due whatever happens.
    public struct Last: Sendable, Equatable {
        public var key: PassKey
        public var due: Date

        public init(key: PassKey, due: Date) {
            self.key = key
            self.due = due
        }
    }

    /// Whether the pass at `now` must be a full one.
    public static func fullPassNeeded(last: Last?, current: PassKey, now: Date, heartbeatDeadlinePassed: Bool, rolloutInProgress: Bool) -> Bool {
        guard let last else { return true }
        return last.key != current || now >= last.due || heartbeatDeadlinePassed || rolloutInProgress
    }
}
