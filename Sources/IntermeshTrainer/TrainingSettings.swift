import Foundation
import IntermeshPlan
import IntermeshSpec

/// What a revision decides about training that can change mid-run (the hot and site-local hot fields):
/// the values a replica switches at a revision's activation step. Every rank of a replica gets them from
/// its leader bit for bit (`encoded`), so the ranks' local updates stay identical.
public struct TrainingSettings: Sendable, Equatable {
    /// The revision number these come from (0 when not known: standalone mode).
    public var revision: Int
    public var innerSteps: Int
    /// Sequences per replica per inner step.
    public var batchSize: Int
    public var learningRate: LearningRate
    public var beta1: Double
    public var beta2: Double
    public var weightDecay: Double
    public var gradClip: Double
    public var outerLr: Double
    public var momentum: Double
    public var quantize: Bool
    /// Inner steps between checkpoints.
    public var checkpointInterval: Int
    public var outerStepLimit: Int?
    /// Mix weights in the order of the data sources.
    public var weights: [Double]
    /// Seconds between a member's heartbeats (managed mode); its control plane evicts it after `heartbeatTimeout`.
    public var heartbeatInterval: Double
    /// Seconds a step of the outer all-reduce may take before the ring gives up on a peer: the heartbeat timeout,
    /// at least 2 s.
    public var syncTimeout: Double

    /// The values of `plan` for `site`; `outerSteps` (the command line's) wins over the spec's.
    public init(plan: Plan, site: String, revision: Int, outerSteps: Int?) {
        let spec = plan.run.spec
        let training = spec.training
        let siteSpec = spec.sites.first { $0.name == site }
        self.revision = revision
        innerSteps = training.innerSteps
        batchSize = siteSpec?.batchSize ?? training.batchSize
        outerStepLimit = outerSteps ?? training.outerSteps
        var totalSteps = outerStepLimit.map { $0 * training.innerSteps }
        if totalSteps == nil, let tokens = training.totalTokens?.value {
            let perStep = UInt64(max(1, batchSize * spec.model.sequenceLength * plan.totalReplicas))
            totalSteps = Int(tokens / perStep)
        }
        let inner = training.innerOptimizer
        learningRate = LearningRate(peak: siteSpec?.innerLr ?? inner.lr, schedule: inner.schedule, totalSteps: totalSteps)
        beta1 = inner.beta1
        beta2 = inner.beta2
        weightDecay = inner.weightDecay
        gradClip = inner.gradClip
        outerLr = training.outerOptimizer.lr
        momentum = training.outerOptimizer.momentum
        quantize = training.quantization == .int8
        checkpointInterval = training.checkpoint.interval
        weights = spec.data.mix.map(\.weight)
        heartbeatInterval = spec.faultPolicy.heartbeatInterval.seconds
        syncTimeout = max(2, spec.faultPolicy.heartbeatTimeout.seconds)
    }

    /// Inner steps between checkpoints as whole outer steps (at least one).
    public var checkpointEvery: Int { max(1, checkpointInterval / max(1, innerSteps)) }

    // MARK: - The leader's broadcast

    static let kinds: [LRSchedule.Kind] = [.constant, .cosine, .wsd]

    /// Every value as 64 bits, for an MPI broadcast; doubles travel by bit pattern.
    public var encoded: [Int64] {
        func bits(_ value: Double) -> Int64 { Int64(bitPattern: value.bitPattern) }
        let schedule = learningRate.schedule
        var out: [Int64] = [
            Int64(revision), Int64(innerSteps), Int64(batchSize), bits(learningRate.peak),
            Int64(Self.kinds.firstIndex(of: schedule.kind) ?? 0), Int64(schedule.warmupSteps), Int64(schedule.decaySteps ?? -1),
            bits(schedule.minLrRatio), Int64(learningRate.totalSteps ?? -1),
            bits(beta1), bits(beta2), bits(weightDecay), bits(gradClip), bits(outerLr), bits(momentum),
            quantize ? 1 : 0, Int64(checkpointInterval), Int64(outerStepLimit ?? -1), bits(heartbeatInterval), bits(syncTimeout),
            Int64(weights.count),
        ]
        out += weights.map(bits)
        return out
    }

    /// Length of `encoded` for `sources` data sources.
    public static func encodedCount(sources: Int) -> Int { 21 + sources }

    /// Replaces every value with those of an `encoded` vector.
    public mutating func decode(_ values: [Int64]) {
        func double(_ index: Int) -> Double { Double(bitPattern: UInt64(bitPattern: values[index])) }
        func optional(_ index: Int) -> Int? { values[index] < 0 ? nil : Int(values[index]) }
        revision = Int(values[0])
        innerSteps = Int(values[1])
        batchSize = Int(values[2])
        let schedule = LRSchedule(kind: Self.kinds[Int(values[4])], warmupSteps: Int(values[5]), decaySteps: optional(6), minLrRatio: double(7))
        learningRate = LearningRate(peak: double(3), schedule: schedule, totalSteps: optional(8))
        beta1 = double(9)
        beta2 = double(10)
        weightDecay = double(11)
        gradClip = double(12)
        outerLr = double(13)
        momentum = double(14)
        quantize = values[15] != 0
        checkpointInterval = Int(values[16])
        outerStepLimit = optional(17)
        heartbeatInterval = double(18)
        syncTimeout = double(19)
        weights = (0..<Int(values[20])).map { double(21 + $0) }
    }

    /// The fields that differ from `old`, for the switch's log line.
    public func changes(from old: TrainingSettings) -> [String: String] {
        var out: [String: String] = [:]
        func note<T: Equatable>(_ name: String, _ a: T, _ b: T) { if a != b { out[name] = "\(a) -> \(b)" } }
        note("inner_steps", old.innerSteps, innerSteps)
        note("batch_size", old.batchSize, batchSize)
        note("inner_lr", old.learningRate.peak, learningRate.peak)
        note("schedule", "\(old.learningRate.schedule.kind.rawValue)/\(old.learningRate.schedule.warmupSteps)",
             "\(learningRate.schedule.kind.rawValue)/\(learningRate.schedule.warmupSteps)")
        note("outer_lr", old.outerLr, outerLr)
        note("momentum", old.momentum, momentum)
        note("weights", old.weights, weights)
        note("quantize", old.quantize, quantize)
        note("checkpoint_interval", old.checkpointInterval, checkpointInterval)
        note("weight_decay", old.weightDecay, weightDecay)
        note("heartbeat_interval", old.heartbeatInterval, heartbeatInterval)
        note("sync_timeout", old.syncTimeout, syncTimeout)
        return out
    }
}
