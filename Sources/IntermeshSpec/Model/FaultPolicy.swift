/// How the control plane watches members and heals the run.
public struct FaultPolicy: SpecObject, Hashable, Codable {
    public enum BelowMinReplicas: String, Codable, Sendable, CaseIterable {
        /// Keep training inner steps; hold the outer step until enough replicas are back (condition Degraded).
        case wait
        /// Stop the run once it has been below minReplicas for longer than joinTimeout (after having reached it).
        case stop
    }

    public var heartbeatInterval: DurationValue
    public var heartbeatTimeout: DurationValue
    public var minReplicas: Int
    public var joinTimeout: DurationValue
    public var quorumTick: DurationValue
    public var belowMinReplicas: BelowMinReplicas
    public var restart: RestartPolicy
    /// How long a replica that has lost both its agent and the control plane trains on before it checkpoints and
    /// stops by itself; nil: `defaultOrphanTimeout`. Kept out of the canonical form when unset, so specs that do not
    /// name it keep their content hash.
    public var orphanTimeout: DurationValue?
    public static let defaultOrphanTimeout = DurationValue.seconds(600)
    /// The orphan timeout in effect: the spec's, else the default.
    public var effectiveOrphanTimeout: DurationValue { orphanTimeout ?? Self.defaultOrphanTimeout }
    /// How long past its heartbeat timeout a silent member keeps its slot (disconnected: out of quorums, not
    /// relaunched) before it is lost and its slot relaunched; nil: no grace, lost at the timeout. Kept out of the
    /// canonical form when unset.
    public var disconnectGrace: DurationValue?
    /// The grace in seconds (0 when unset).
    public var graceSeconds: Double { disconnectGrace?.seconds ?? 0 }

    public static let schema = ObjectSchema("faultPolicy", doc: "Heartbeats, quorum and restarts.", fields: [
        FieldSchema("heartbeatInterval", .duration, default: .string("2s"), doc: "How often members heartbeat; a new value reaches running members at the rollout's activation step."),
        FieldSchema("heartbeatTimeout", .duration, default: .string("10s"), doc: "Silence after which a member is lost; above heartbeatInterval."),
        FieldSchema("minReplicas", .integer(min: 1, max: 10_000_000), default: .int(1),
                    doc: "Fewest replicas an outer step may run with; no more than the total replicas."),
        FieldSchema("joinTimeout", .duration, default: .string("60s"), doc: "How long a quorum waits for missing members."),
        FieldSchema("quorumTick", .duration, default: .string("100ms"), doc: "How often a pending quorum is re-evaluated."),
        FieldSchema("belowMinReplicas", .enumeration(BelowMinReplicas.allCases.map(\.rawValue)), default: .string("wait"),
                    doc: "`wait` (hold outer steps, condition Degraded) or `stop` (stop the run once below minReplicas for longer than joinTimeout)."),
        FieldSchema("restart", .object(RestartPolicy.schema), doc: "Restart budget of each replica slot."),
        FieldSchema("orphanTimeout", .duration,
                    doc: "How long a replica that reaches neither its agent nor the control plane waits before it checkpoints and stops by itself, instead of holding its GPUs forever; 10m when not set; longer than heartbeatTimeout. Engines that speak Intermesh's protocol (the reference engine) honour it; setting it for another engine is an error."),
        FieldSchema("disconnectGrace", .duration,
                    doc: "How long a member silent past heartbeatTimeout keeps its slot (like Nomad's max_client_disconnect): it is left out of quorums but not relaunched, and rejoins by live recovery when its site comes back. Past the grace its slot is relaunched, and the old incarnation is told to stop if it comes back. Not set: a silent member is lost at heartbeatTimeout. heartbeatTimeout plus the grace must be shorter than orphanTimeout."),
    ])

    public init(from reader: ObjectReader) {
        heartbeatInterval = reader.duration("heartbeatInterval") ?? .seconds(2)
        heartbeatTimeout = reader.duration("heartbeatTimeout") ?? .seconds(10)
        minReplicas = reader.int("minReplicas") ?? 1
        joinTimeout = reader.duration("joinTimeout") ?? .seconds(60)
        quorumTick = reader.duration("quorumTick") ?? .seconds(0.1)
        belowMinReplicas = reader.enumeration("belowMinReplicas") ?? .wait
        restart = reader.object("restart")
        orphanTimeout = reader.duration("orphanTimeout")
        disconnectGrace = reader.duration("disconnectGrace")
    }
}

/// Restarts per replica slot: `attempts` within `interval`, waiting `delay` x `backoff`^n up to `maxDelay`.
public struct RestartPolicy: SpecObject, Hashable, Codable {
    public enum OnExhausted: String, Codable, Sendable, CaseIterable {
        /// Leave the slot down with an event saying why; the run goes on.
        case quarantine
        /// Fail the whole run.
        case fail
    }

    public var attempts: Int
    public var interval: DurationValue
    public var delay: DurationValue
    public var backoff: Double
    public var maxDelay: DurationValue
    public var onExhausted: OnExhausted

    public static let schema = ObjectSchema("restart", doc: "Restart budget.", fields: [
        FieldSchema("attempts", .integer(min: 0, max: 1_000_000), default: .int(5), doc: "Restarts allowed within interval."),
        FieldSchema("interval", .duration, default: .string("10m"), doc: "Window in which attempts are counted."),
        FieldSchema("delay", .duration, default: .string("1s"), doc: "Wait before the first restart."),
        FieldSchema("backoff", .number(min: 1, max: 100, exclusiveMinimum: false), default: .number(2),
                    doc: "Factor applied to the delay after each restart."),
        FieldSchema("maxDelay", .duration, default: .string("1m"), doc: "Longest wait between restarts."),
        FieldSchema("onExhausted", .enumeration(OnExhausted.allCases.map(\.rawValue)), default: .string("quarantine"),
                    doc: "`quarantine` the flapping slot, or `fail` the run."),
    ])

    public init(from reader: ObjectReader) {
        attempts = reader.int("attempts") ?? 5
        interval = reader.duration("interval") ?? .seconds(600)
        delay = reader.duration("delay") ?? .seconds(1)
        backoff = reader.double("backoff") ?? 2
        maxDelay = reader.duration("maxDelay") ?? .seconds(60)
        onExhausted = reader.enumeration("onExhausted") ?? .quarantine
    }
}
