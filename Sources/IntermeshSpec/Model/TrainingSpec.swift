/// DiLoCo optimization: H inner steps of AdamW per replica, then an outer Nesterov step on the pseudo-gradient.
public struct TrainingSpec: SpecObject, Hashable, Codable {
    public enum Quantization: String, Codable, Sendable, CaseIterable {
        case int8
        case none
    }

    /// H: inner steps between outer synchronisations.
    public var innerSteps: Int
    /// Sequences per replica per inner step, split over the replica's ranks.
    public var batchSize: Int
    public var totalTokens: Quantity?
    public var outerSteps: Int?
    public var seed: Int
    public var innerOptimizer: InnerOptimizer
    public var outerOptimizer: OuterOptimizer
    public var quantization: Quantization
    public var checkpoint: CheckpointSpec

    public static let schema = ObjectSchema("training", doc: "DiLoCo schedule and optimizers.", fields: [
        FieldSchema("innerSteps", .integer(min: 1, max: 1_000_000), default: .int(100), doc: "H: inner steps between outer syncs."),
        FieldSchema("batchSize", .integer(min: 1, max: 100_000_000), default: .int(32),
                    doc: "Sequences per replica per inner step, divided over its ranks."),
        FieldSchema("totalTokens", .quantity, doc: "Stop after this many tokens over all replicas (`1T`); runs until stopped when absent."),
        FieldSchema("outerSteps", .integer(min: 1, max: 100_000_000), doc: "Stop after this many outer steps; wins over totalTokens."),
        FieldSchema("seed", .integer(min: 0, max: Int(UInt32.max)), default: .int(1234), doc: "Seed of initialization and data sampling."),
        FieldSchema("innerOptimizer", .object(InnerOptimizer.schema), doc: "Per-replica optimizer."),
        FieldSchema("outerOptimizer", .object(OuterOptimizer.schema), doc: "Optimizer of the pseudo-gradient."),
        FieldSchema("quantization", .enumeration(Quantization.allCases.map(\.rawValue)), default: .string("int8"),
                    doc: "Pseudo-gradient encoding on the wire: `int8` (4x smaller) or `none` (fp32)."),
        FieldSchema("checkpoint", .object(CheckpointSpec.schema), doc: "Checkpoints to local disk."),
    ])

    public init(from reader: ObjectReader) {
        innerSteps = reader.int("innerSteps") ?? 100
        batchSize = reader.int("batchSize") ?? 32
        totalTokens = reader.quantity("totalTokens")
        outerSteps = reader.int("outerSteps")
        seed = reader.int("seed") ?? 1234
        innerOptimizer = reader.object("innerOptimizer")
        outerOptimizer = reader.object("outerOptimizer")
        quantization = reader.enumeration("quantization") ?? .int8
        checkpoint = reader.object("checkpoint")
        if checkpoint.interval == 0 { checkpoint.interval = innerSteps }
    }
}

/// AdamW with a learning-rate schedule.
public struct InnerOptimizer: SpecObject, Hashable, Codable {
    public var kind: String
    public var lr: Double
    public var beta1: Double
    public var beta2: Double
    public var weightDecay: Double
    public var gradClip: Double
    public var schedule: LRSchedule

    public static let schema = ObjectSchema("inner optimizer", doc: "AdamW.", fields: [
        FieldSchema("kind", .enumeration(["adamw"]), default: .string("adamw"), doc: "Only `adamw`."),
        FieldSchema("lr", .number(min: 0, max: 10, exclusiveMinimum: true), default: .number(3e-4), doc: "Peak learning rate."),
        FieldSchema("beta1", .number(min: 0, max: 1, exclusiveMinimum: false), default: .number(0.9), doc: "Adam beta1."),
        FieldSchema("beta2", .number(min: 0, max: 1, exclusiveMinimum: false), default: .number(0.95), doc: "Adam beta2."),
        FieldSchema("weightDecay", .number(min: 0, max: 10, exclusiveMinimum: false), default: .number(0.1), doc: "Decoupled weight decay."),
        FieldSchema("gradClip", .number(min: 0, max: 1e6, exclusiveMinimum: false), default: .number(1.0),
                    doc: "Clip the gradient's global norm to this; 0 disables."),
        FieldSchema("schedule", .object(LRSchedule.schema), doc: "Learning-rate schedule over inner steps."),
    ])

    public init(from reader: ObjectReader) {
        kind = reader.string("kind") ?? "adamw"
        lr = reader.double("lr") ?? 3e-4
        beta1 = reader.double("beta1") ?? 0.9
        beta2 = reader.double("beta2") ?? 0.95
        weightDecay = reader.double("weightDecay") ?? 0.1
        gradClip = reader.double("gradClip") ?? 1.0
        schedule = reader.object("schedule")
    }
}

/// Warmup, then constant, cosine decay, or warmup-stable-decay.
public struct LRSchedule: SpecObject, Hashable, Codable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case constant
        case cosine
        case wsd
    }

    public var kind: Kind
    public var warmupSteps: Int
    public var decaySteps: Int?
    public var minLrRatio: Double

    public static let schema = ObjectSchema("schedule", doc: "Learning-rate schedule.", fields: [
        FieldSchema("kind", .enumeration(Kind.allCases.map(\.rawValue)), default: .string("cosine"),
                    doc: "`constant`, `cosine` (to minLrRatio over the run) or `wsd` (warmup, stable, decay over the last decaySteps)."),
        FieldSchema("warmupSteps", .integer(min: 0, max: 100_000_000), default: .int(100), doc: "Linear warmup, in inner steps."),
        FieldSchema("decaySteps", .integer(min: 1, max: 100_000_000), default: .derived("the rest of the run (cosine), 10% of it (wsd)"),
                    doc: "Inner steps of the decay phase."),
        FieldSchema("minLrRatio", .number(min: 0, max: 1, exclusiveMinimum: false), default: .number(0.1),
                    doc: "Final learning rate as a fraction of the peak."),
    ])

    public init(kind: Kind, warmupSteps: Int, decaySteps: Int? = nil, minLrRatio: Double = 0.1) {
        self.kind = kind
        self.warmupSteps = warmupSteps
        self.decaySteps = decaySteps
        self.minLrRatio = minLrRatio
    }

    public init(from reader: ObjectReader) {
        kind = reader.enumeration("kind") ?? .cosine
        warmupSteps = reader.int("warmupSteps") ?? 100
        decaySteps = reader.int("decaySteps")
        minLrRatio = reader.double("minLrRatio") ?? 0.1
    }
}

/// Nesterov SGD on the averaged pseudo-gradient (DiLoCo's outer step).
public struct OuterOptimizer: SpecObject, Hashable, Codable {
    public var kind: String
    public var lr: Double
    public var momentum: Double

    public static let schema = ObjectSchema("outer optimizer", doc: "Nesterov SGD.", fields: [
        FieldSchema("kind", .enumeration(["nesterov"]), default: .string("nesterov"), doc: "Only `nesterov`."),
        FieldSchema("lr", .number(min: 0, max: 10, exclusiveMinimum: true), default: .number(0.7), doc: "Outer learning rate."),
        FieldSchema("momentum", .number(min: 0, max: 1, exclusiveMinimum: false), default: .number(0.9), doc: "Nesterov momentum, below 1."),
    ])

    public init(from reader: ObjectReader) {
        kind = reader.string("kind") ?? "nesterov"
        lr = reader.double("lr") ?? 0.7
        momentum = reader.double("momentum") ?? 0.9
    }
}

/// Where and how often replicas checkpoint.
public struct CheckpointSpec: SpecObject, Hashable, Codable {
    /// Inner steps between checkpoints; a multiple of H.
    public var interval: Int
    public var keep: Int
    public var path: String

    public static let schema = ObjectSchema("checkpoint", doc: "Local checkpoints.", fields: [
        FieldSchema("interval", .integer(min: 1, max: 100_000_000), default: .derived("innerSteps"),
                    doc: "Inner steps between checkpoints; must be a multiple of innerSteps."),
        FieldSchema("keep", .integer(min: 1, max: 1000), default: .int(3), doc: "Newest checkpoints kept per replica."),
        FieldSchema("path", .string(.path), default: .string("checkpoints"), doc: "Directory. Under an agent, a relative path starts from the agent's state directory and an absolute one gets the run's name added; each replica writes to `SITE-INDEX` in it. A standalone trainer writes to `PATH/SITE/replica-INDEX` from its working directory."),
    ])

    public init(from reader: ObjectReader) {
        interval = reader.int("interval") ?? 0
        keep = reader.int("keep") ?? 3
        path = reader.string("path") ?? "checkpoints"
    }
}
