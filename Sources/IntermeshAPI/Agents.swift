import Foundation

/// A replica an agent started: it counts against the slot's restart budget from this moment.
public struct LaunchReport: Codable, Sendable {
    public var slot: String
    public var member: String
    public var incarnation: Int
    public var pid: Int32?

    public init(slot: String, member: String, incarnation: Int, pid: Int32?) {
        self.slot = slot
        self.member = member
        self.incarnation = incarnation
        self.pid = pid
    }
}

/// A replica process that ended, with how and its last log lines.
public struct ExitReport: Codable, Sendable {
    public var slot: String
    public var member: String
    /// The exit status, when the process exited; nil when a signal ended it or the status is unknown (an adopted process).
    public var code: Int32?
    public var signal: Int32?
    public var lastLines: [String]

    public init(slot: String, member: String, code: Int32?, signal: Int32?, lastLines: [String]) {
        self.slot = slot
        self.member = member
        self.code = code
        self.signal = signal
        self.lastLines = lastLines
    }

    /// How a process ended, in words: `exited with code 1`, `was killed by signal 9`, or `ended` when unknown.
    public static func describe(code: Int32?, signal: Int32?) -> String {
        code.map { "exited with code \($0)" } ?? signal.map { "was killed by signal \($0)" } ?? "ended"
    }
}

public struct AgentReport: Codable, Sendable {
    public var launched: [LaunchReport]
    public var exited: [ExitReport]
    /// Replicas still to relaunch for a restart-class change of `revision` (the revision the agent has loaded).
    public var pendingRestarts: Int?
    public var revision: Int?

    public init(launched: [LaunchReport], exited: [ExitReport], pendingRestarts: Int? = nil, revision: Int? = nil) {
        self.launched = launched
        self.exited = exited
        self.pendingRestarts = pendingRestarts
        self.revision = revision
    }
}

/// What an agent needs each tick: the run's phase and active revision, and the site's directives.
public struct AgentResponse: Codable, Sendable {
    public var phase: RunPhase
    public var activeRevision: Int
    public var contentHash: String
    /// Whether the active plan still has this site.
    public var siteInPlan: Bool
    /// When the directives were computed; a launch directive older than the agent's last launch of the slot is stale.
    public var issuedAt: Date?
    public var directives: [Directive]
    /// How many replicas the agent may have relaunching at once for a restart-class change (0: wait its turn).
    public var restartsAllowed: Int?
    /// The port of the control plane's Lighthouse endpoint (torchft's protocol), for runs managed through torchft: the
    /// agent hands `http://SERVER-HOST:PORT` to its replicas as `INTERMESH_LIGHTHOUSE`.
    public var lighthousePort: Int?

    public init(phase: RunPhase, activeRevision: Int, contentHash: String, siteInPlan: Bool, issuedAt: Date?, directives: [Directive],
                restartsAllowed: Int?, lighthousePort: Int? = nil) {
        self.phase = phase
        self.activeRevision = activeRevision
        self.contentHash = contentHash
        self.siteInPlan = siteInPlan
        self.issuedAt = issuedAt
        self.directives = directives
        self.restartsAllowed = restartsAllowed
        self.lighthousePort = lighthousePort
    }
}

/// A run's data-plane key (hex): what its replicas tag ring and recovery traffic with.
public struct DataKeyResponse: Codable, Sendable {
    public var key: String

    public init(key: String) {
        self.key = key
    }
}
