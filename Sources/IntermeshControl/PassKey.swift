import Foundation

/// What a full reconcile pass of a run decided on. Equal keys, no passed heartbeat deadline and no rollout in
/// progress mean a new full pass would decide the same: the pass then only records the outer step.
///
/// A full pass looks at every member (a few hundred milliseconds at 100,000), so it runs only when something it
/// decides on may have changed: a member joined, left or changed slot or incarnation (the membership version), a
/// heartbeat deadline passed since the last full pass, a member that pass found disconnected was heard again, a
/// restart backoff or disconnect grace ended (`due`), the revision, phase or generation changed, a rollout is in
/// progress, or launch history changed (the last pass is forgotten). A member that stays silent is decided on once
/// when its deadline passes and once when its grace ends, not by every pass in between.
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

    /// The last full pass: its key, when it ran (the heartbeat deadlines passed by then it decided on), and when a
    /// full pass is due whatever happens.
    public struct Last: Sendable, Equatable {
        public var key: PassKey
        public var at: Date
        public var due: Date

        public init(key: PassKey, at: Date, due: Date) {
            self.key = key
            self.at = at
            self.due = due
        }
    }

    /// Whether the pass at `now` must be a full one. `heartbeatDeadlinePassed`: a member last heard from after
    /// `last.at` minus the timeout has been silent past it since; `disconnectedHeard`: a member the last pass found
    /// disconnected is live again.
    public static func fullPassNeeded(last: Last?, current: PassKey, now: Date, heartbeatDeadlinePassed: Bool, disconnectedHeard: Bool,
                                      rolloutInProgress: Bool) -> Bool {
        guard let last else { return true }
        return last.key != current || now >= last.due || heartbeatDeadlinePassed || disconnectedHeard || rolloutInProgress
    }
}
