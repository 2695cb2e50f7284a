/// How a new revision is activated mid-run.
public struct RolloutSpec: SpecObject, Hashable, Codable {
    public var leadSteps: Int
    public var canarySites: [String]
    public var promotion: PromotionGate
    public var maxParallel: Int

    public static let schema = ObjectSchema("rollout", doc: "Mid-run changes.", fields: [
        FieldSchema("leadSteps", .integer(min: 1, max: 1000), default: .int(2),
                    doc: "Outer steps between an apply and the step at which a hot change activates."),
        FieldSchema("canarySites", .list(.string(.dnsLabel), minItems: 0), doc: "Sites that take site-local changes first."),
        FieldSchema("promotion", .object(PromotionGate.schema), doc: "When a canary change is promoted or reverted."),
        FieldSchema("maxParallel", .integer(min: 1, max: 100_000), default: .int(1),
                    doc: "Replicas of a site relaunched at once by a restart-class change."),
    ])

    public init(from reader: ObjectReader) {
        leadSteps = reader.int("leadSteps") ?? 2
        canarySites = reader.stringList("canarySites")
        promotion = reader.object("promotion")
        maxParallel = reader.int("maxParallel") ?? 1
    }
}

/// Promotion gate of a canary: after `afterSteps` outer steps, promote if the canaries' evaluation
/// loss is within `lossTolerance` (relative) of the other sites', else revert.
public struct PromotionGate: SpecObject, Hashable, Codable {
    public var afterSteps: Int
    public var lossTolerance: Double
    public var automatic: Bool
    public var canaryWeight: Double

    public static let schema = ObjectSchema("promotion", doc: "Canary promotion gate.", fields: [
        FieldSchema("afterSteps", .integer(min: 1, max: 10_000), default: .int(3), doc: "Outer steps a canary runs before the gate."),
        FieldSchema("lossTolerance", .number(min: 0, max: 10, exclusiveMinimum: false), default: .number(0.05),
                    doc: "Largest relative excess of the canaries' eval loss over the others'."),
        FieldSchema("automatic", .boolean, default: .bool(true), doc: "Promote or revert automatically; else wait for `rollout promote`."),
        FieldSchema("canaryWeight", .number(min: 0, max: 1, exclusiveMinimum: false), default: .number(0),
                    doc: "Weight of a canary's pseudo-gradient in the outer average until it is promoted: 0 trains it in shadow (a diverging canary cannot harm the run), 1 counts it fully."),
    ])

    public init(from reader: ObjectReader) {
        afterSteps = reader.int("afterSteps") ?? 3
        lossTolerance = reader.double("lossTolerance") ?? 0.05
        automatic = reader.bool("automatic") ?? true
        canaryWeight = reader.double("canaryWeight") ?? 0
    }
}

/// Assumptions of the plan's estimate of compute and sync time.
public struct EstimateSpec: SpecObject, Hashable, Codable {
    public var mfu: Double
    public var targetUtilization: Double
    public var linkEfficiency: Double

    public static let schema = ObjectSchema("estimate", doc: "Estimate assumptions.", fields: [
        FieldSchema("mfu", .number(min: 0, max: 1, exclusiveMinimum: true), default: .number(0.4),
                    doc: "Model FLOPs utilization assumed for inner steps."),
        FieldSchema("targetUtilization", .number(min: 0, max: 1, exclusiveMinimum: true), default: .number(0.9),
                    doc: "Compute utilization below which plan warns, naming the H that would reach it."),
        FieldSchema("linkEfficiency", .number(min: 0, max: 1, exclusiveMinimum: true), default: .number(1),
                    doc: "Fraction of nominal bandwidth the ring achieves (TCP over a WAN reaches 0.4-0.7)."),
    ])

    public init(from reader: ObjectReader) {
        mfu = reader.double("mfu") ?? 0.4
        targetUtilization = reader.double("targetUtilization") ?? 0.9
        linkEfficiency = reader.double("linkEfficiency") ?? 1
    }
}
