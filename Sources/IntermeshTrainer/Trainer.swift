import Foundation
import IntermeshSpec

/// Set by SIGTERM or SIGINT; checked between inner steps.
nonisolated(unsafe) var stopRequested: Int32 = 0
/// Set by SIGUSR1 (an agent draining the replica): leave after contributing the current outer step.
nonisolated(unsafe) var drainSignalled: Int32 = 0

/// One replica of the reference engine: H inner steps of AdamW (ranks averaging gradients over MPI),
/// then, on the leader, the outer step: quorum, int8 ring all-reduce of the pseudo-gradient, Nesterov.
public final class Trainer {
    let config: TrainerConfig
    let group: MPIGroup
    let model: MLPModel
    var mix: DataMix
    var sampler: ShardSampler
    var global: [Float]
    var outer: OuterNesterov
    var adam: AdamW
    /// The values of the revision trained with now; a rollout replaces them at its activation step.
    var settings: TrainingSettings
    var revisionHash: String
    var outerStep = 0
    var innerStep = 0
    var quorum: Quorum?
    /// Set when the leader replaced its state from a donor, so the ranks reset their inner optimizer too.
    var recovered = false

    // Leader only.
    var box: SnapshotBox?
    var membership: (any Membership)?
    var ring: RingEndpoint?
    /// The run's data-plane key (nil: a standalone run without one).
    var dataKey: DataPlaneKey?
    var control: ControlServer?
    var store: CheckpointStore?

    public init(config: TrainerConfig, group: MPIGroup) throws {
        self.config = config
        self.group = group
        model = MLPModel(shape: config.shape)
        mix = try DataMix(spec: config.spec.data, context: config.shape.context, directory: config.dataDirectory)
        let rank = config.replica.ranks[min(group.rank, config.replica.ranks.count - 1)]
        sampler = ShardSampler(shard: rank.globalRank, shards: config.plan.totalRanks, seed: UInt64(config.spec.training.seed))
        // Every replica starts from the same parameters: the run's seed decides them.
        global = model.initialParameters(seed: UInt64(config.spec.training.seed))
        settings = config.settings
        revisionHash = config.plan.contentHash
        outer = OuterNesterov(count: global.count, lr: settings.outerLr, momentum: settings.momentum)
        adam = Self.freshAdam(settings, count: global.count)
    }

    static func freshAdam(_ settings: TrainingSettings, count: Int) -> AdamW {
        AdamW(count: count, beta1: settings.beta1, beta2: settings.beta2, weightDecay: settings.weightDecay, gradClip: settings.gradClip)
    }

    /// At the start of each outer step: the leader looks up the revision the step trains with and every rank
    /// takes its settings, bit for bit. A change happens exactly at the scheduled step, on every replica.
    func switchRevisionIfScheduled() {
        var vector = [Int64](repeating: 0, count: TrainingSettings.encodedCount(sources: mix.sources.count))
        if group.isLeader {
            var next = settings
            if let (number, plan) = membership?.revision(forStep: outerStep + 1), number != settings.revision {
                next = TrainingSettings(plan: plan, site: config.site.name, revision: number, outerSteps: config.outerStepsOverride)
                // Data sources cannot change by a hot rollout (that is a restart); guard the broadcast's shape anyway.
                if next.weights.count != settings.weights.count { next.weights = settings.weights }
                TrainerLog.emit("revision", ["outer_step": outerStep + 1, "from": settings.revision, "revision": number,
                                             "hash": plan.contentHash, "changes": next.changes(from: settings)])
                revisionHash = plan.contentHash
            }
            vector = next.encoded
        }
        group.broadcast(&vector)
        settings.decode(vector)
        mix.setWeights(Dictionary(uniqueKeysWithValues: zip(mix.sources.map(\.name), settings.weights)))
        outer.lr = Float(settings.outerLr)
        outer.momentum = Float(settings.momentum)
        adam.beta1 = Float(settings.beta1)
        adam.beta2 = Float(settings.beta2)
        adam.weightDecay = Float(settings.weightDecay)
        adam.gradClip = Float(settings.gradClip)
        if group.isLeader { membership?.report(activeRevision: settings.revision, evalLoss: nil) }
    }

    var snapshot: TrainerSnapshot {
        TrainerSnapshot(outerStep: outerStep, innerStep: innerStep, quorumId: quorum?.id ?? 0,
                        revision: config.plan.contentHash, global: global, momentum: outer.buffer)
    }

    /// Trains until the outer-step limit or a stop signal; returns the exit status.
    public func run() throws -> Int32 {
        signal(SIGTERM) { _ in stopRequested = 1 }
        signal(SIGINT) { _ in stopRequested = 1 }
        signal(SIGUSR1) { _ in drainSignalled = 1 }
        // A parent may have started us with these blocked; a replica must always hear its stop signal.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGUSR1)
        sigprocmask(SIG_UNBLOCK, &signals, nil)
        // Header from rank 0: outer step, inner step, reset the inner optimizer, stop.
        var header: [Int64] = [0, 0, 0, 0]
        if group.isLeader {
            try startLeader()
            header = [Int64(outerStep), Int64(innerStep), 1, 0]
        }
        try synchronizeRanks(&header)
        var gradient = [Float](repeating: 0, count: global.count)
        while true {
            switchRevisionIfScheduled()
            guard settings.outerStepLimit.map({ outerStep < $0 }) ?? true else { break }
            let h = settings.innerSteps
            let perRank = max(1, settings.batchSize / group.size)
            let firstInnerStep = innerStep
            var local = global
            var lossSum = 0.0
            let started = Date()
            var stopping = false
            for _ in 0..<h {
                let stepStart = Date()
                let (inputs, targets) = sampler.batch(perRank, from: mix)
                let loss = model.lossAndGradient(local, inputs: inputs, targets: targets, gradient: &gradient)
                gradient.append(loss)
                gradient.append(Float(stopRequested))
                group.sum(&gradient)
                stopping = gradient.removeLast() > 0
                let meanLoss = gradient.removeLast() / Float(group.size)
                if group.size > 1 {
                    let scale = 1 / Float(group.size)
                    for i in gradient.indices { gradient[i] *= scale }
                }
                let lr = settings.learningRate.at(step: innerStep)
                adam.update(&local, gradient: gradient, lr: lr)
                innerStep += 1
                lossSum += Double(meanLoss)
                if group.isLeader {
                    let tokens = Double(settings.batchSize * config.shape.context) / max(1e-9, Date().timeIntervalSince(stepStart))
                    TrainerLog.emit("inner", ["step": innerStep, "outer_step": outerStep, "loss": Double(meanLoss), "lr": lr,
                                              "tokens_per_s": tokens.rounded()])
                }
                if stopping { break }
            }
            if stopping {
                // Leave before the all-reduce: no replica ever applies a half-finished outer step.
                if group.isLeader { leave(reason: "signal") }
                return 0
            }
            let innerSeconds = Date().timeIntervalSince(started)
            if group.isLeader {
                recovered = false
                do {
                    try outerStep(local: local, trainLoss: lossSum / Double(h), innerSeconds: innerSeconds)
                    // A drained replica has contributed this step; it leaves before starting another.
                    let drain = drainSignalled != 0 || membership?.drainRequested == true
                    header = [Int64(outerStep), Int64(innerStep), recovered ? 1 : 0, drain ? 2 : 0]
                } catch MembershipError.stopped {
                    header = [Int64(outerStep), Int64(innerStep), 0, 1]
                } catch let MembershipError.orphaned(seconds) {
                    // Nobody will relaunch or stop this replica: it keeps what it has and frees its GPUs.
                    TrainerLog.emit("orphaned", ["outer_step": outerStep, "silent_seconds": seconds])
                    checkpointNow()
                    header = [Int64(outerStep), Int64(innerStep), 0, 4]
                } catch MembershipError.replaced {
                    // Another incarnation trains this slot now: this one writes nothing (not even a checkpoint) and ends.
                    TrainerLog.emit("replaced", ["outer_step": outerStep])
                    header = [Int64(outerStep), Int64(innerStep), 0, 5]
                } catch let MembershipError.staleRevision(step, revision) {
                    // This step trains with a revision this replica heard of too late: its inner steps are
                    // dropped, and every rank trains the step again from the global parameters with it.
                    TrainerLog.emit("stale_revision", ["outer_step": step, "revision": settings.revision, "step_revision": revision])
                    header = [Int64(outerStep), Int64(firstInnerStep), 0, 3]
                }
            }
            try synchronizeRanks(&header)
            if header[3] == 3 { continue }
            if header[3] == 2 {
                if group.isLeader { leave(reason: "drained") }
                return 0
            }
            if header[3] != 0 {
                // Stopped while waiting for a quorum: nothing of this outer step was applied.
                if group.isLeader { leave(reason: [4: "orphaned", 5: "replaced"][header[3]] ?? "signal") }
                return 0
            }
        }
        if group.isLeader { leave(reason: "finished") }
        return 0
    }

    /// Rank 0's step counters and global parameters on every rank; a reset also clears the inner optimizer.
    func synchronizeRanks(_ header: inout [Int64]) throws {
        group.broadcast(&header)
        group.broadcast(&global)
        outerStep = Int(header[0])
        innerStep = Int(header[1])
        if header[2] != 0 { adam = Self.freshAdam(settings, count: global.count) }
    }

    func leave(reason: String) {
        membership?.leave()
        TrainerLog.emit("leave", ["reason": reason, "outer_step": outerStep, "hash": TrainerSnapshot.hash(global)])
        control?.stop()
        ring?.stop()
    }
}
