/// The cross-field rules every spec must pass, in the order their problems are most useful.
public enum SpecRules {
    public static let all: [SpecRule] = [
        uniqueSiteNames, uniqueSourceNames, mixWeights, modelShape, referenceEngine,
        checkpointInterval, replicaCounts, heartbeats, restartDelays, launchers, batchDivisible,
        gpuKinds, canarySites, secrets, portRange,
    ]

    static let uniqueSiteNames = SpecRule("unique site names") { run, ctx in
        duplicates(run.spec.sites.map(\.name)).map { index, first in
            ctx.error("duplicate site name '\(run.spec.sites[index].name)' (first used by sites[\(first)])",
                      at: "spec.sites[\(index)].name")
        }
    }

    static let uniqueSourceNames = SpecRule("unique data sources") { run, ctx in
        duplicates(run.spec.data.mix.map(\.name)).map { index, first in
            ctx.error("duplicate data source '\(run.spec.data.mix[index].name)' (first used by mix[\(first)])",
                      at: "spec.data.mix[\(index)].name")
        }
    }

    static let mixWeights = SpecRule("data-mix weights") { run, ctx in
        let weights = run.spec.data.mix.map(\.weight)
        let sum = weights.reduce(0, +)
        guard !weights.isEmpty, sum > 0, abs(sum - 1) > TrainingRun.mixWeightTolerance else { return [] }
        let normalised = weights.map { formatCompact($0 / sum) }.joined(separator: ", ")
        return [ctx.warning("data-mix weights sum to \(formatCompact(sum)), not 1; they are normalised to \(normalised)",
                            at: "spec.data.mix")]
    }

    static let modelShape = SpecRule("model shape") { run, ctx in
        let model = run.spec.model
        guard model.kind == .transformer else { return [] }
        var out: [Diagnostic] = []
        if model.hiddenSize % model.heads != 0 {
            out.append(ctx.error("hiddenSize \(model.hiddenSize) is not divisible by heads \(model.heads)", at: "spec.model.heads"))
        }
        if model.heads % model.kvHeads != 0 {
            out.append(ctx.error("heads \(model.heads) is not divisible by kvHeads \(model.kvHeads)", at: "spec.model.kvHeads"))
        }
        return out
    }

    static let referenceEngine = SpecRule("reference engine") { run, ctx in
        guard run.spec.engine.kind == .reference, run.spec.model.vocabSize != 256 else { return [] }
        return [ctx.error("the reference engine trains byte-level models: vocabSize must be 256, got \(run.spec.model.vocabSize)",
                          at: "spec.model.vocabSize")]
    }

    static let checkpointInterval = SpecRule("checkpoint interval") { run, ctx in
        let training = run.spec.training
        guard training.checkpoint.interval % training.innerSteps != 0 else { return [] }
        let lower = training.checkpoint.interval / training.innerSteps * training.innerSteps
        let hint = lower > 0 ? "\(lower) or \(lower + training.innerSteps)" : "\(training.innerSteps)"
        return [ctx.error("checkpoint interval \(training.checkpoint.interval) is not a multiple of innerSteps "
                          + "\(training.innerSteps) (checkpoints are taken at outer steps); use \(hint)",
                          at: "spec.training.checkpoint.interval")]
    }

    static let replicaCounts = SpecRule("replica counts") { run, ctx in
        let total = run.spec.totalReplicas
        guard !run.spec.sites.isEmpty else { return [] }
        if total == 0 {
            return [ctx.error("the run has no replicas: every site has replicas: 0", at: "spec.sites")]
        }
        let min = run.spec.faultPolicy.minReplicas
        guard min > total else { return [] }
        return [ctx.error("minReplicas \(min) is larger than the \(total) replicas of all sites together",
                          at: "spec.faultPolicy.minReplicas")]
    }

    static let heartbeats = SpecRule("heartbeat timing") { run, ctx in
        let policy = run.spec.faultPolicy
        var out: [Diagnostic] = []
        if policy.heartbeatInterval.milliseconds <= 0 {
            out.append(ctx.error("heartbeatInterval must be above 0", at: "spec.faultPolicy.heartbeatInterval"))
        }
        if policy.heartbeatTimeout <= policy.heartbeatInterval {
            out.append(ctx.error("heartbeatTimeout \(policy.heartbeatTimeout) must be longer than heartbeatInterval "
                                 + "\(policy.heartbeatInterval)", at: "spec.faultPolicy.heartbeatTimeout"))
        }
        if policy.quorumTick.milliseconds <= 0 {
            out.append(ctx.error("quorumTick must be above 0", at: "spec.faultPolicy.quorumTick"))
        }
        if let grace = policy.disconnectGrace {
            // A partitioned replica stops itself after orphanTimeout: a grace reaching past it would hold a slot for nobody.
            let held = policy.heartbeatTimeout.seconds + grace.seconds
            if grace.milliseconds <= 0 {
                out.append(ctx.error("disconnectGrace must be above 0 (leave it out for no grace)", at: "spec.faultPolicy.disconnectGrace"))
            } else if run.spec.engine.membership.takesHotChanges, held >= policy.effectiveOrphanTimeout.seconds {
                out.append(ctx.error("heartbeatTimeout \(policy.heartbeatTimeout) plus disconnectGrace \(grace) must be shorter than "
                                     + "orphanTimeout \(policy.effectiveOrphanTimeout): a cut-off replica stops itself at orphanTimeout",
                                     at: "spec.faultPolicy.disconnectGrace"))
            }
        }
        if let orphan = policy.orphanTimeout {
            if orphan <= policy.heartbeatTimeout {
                out.append(ctx.error("orphanTimeout \(orphan) must be longer than heartbeatTimeout \(policy.heartbeatTimeout)",
                                     at: "spec.faultPolicy.orphanTimeout"))
            }
            // Only a replica that speaks the protocol knows it lost the control plane; anything else would ignore it.
            if !run.spec.engine.membership.takesHotChanges {
                out.append(ctx.error("orphanTimeout is honoured by engines that speak Intermesh's protocol (membership native); "
                                     + "this engine's membership is \(run.spec.engine.membership.rawValue)", at: "spec.faultPolicy.orphanTimeout"))
            }
        }
        return out
    }

    static let restartDelays = SpecRule("restart delays") { run, ctx in
        let restart = run.spec.faultPolicy.restart
        guard restart.maxDelay < restart.delay else { return [] }
        return [ctx.error("restart maxDelay \(restart.maxDelay) is shorter than delay \(restart.delay)",
                          at: "spec.faultPolicy.restart.maxDelay")]
    }

    static let launchers = SpecRule("launcher requirements") { run, ctx in
        var out: [Diagnostic] = []
        for (index, site) in run.spec.sites.enumerated() {
            let path = "spec.sites[\(index)]"
            switch site.launcher.kind {
            case .ssh, .mpirun:
                if site.launcher.hosts.isEmpty {
                    let hint = site.launcher.kind == .mpirun ? " (use [localhost] for this machine)" : ""
                    out.append(ctx.error("site '\(site.name)': the \(site.launcher.kind.rawValue) launcher needs 'hosts'\(hint)",
                                         at: "\(path).launcher"))
                }
            case .local where site.ranksPerReplica > 1 && run.spec.engine.kind == .reference:
                out.append(ctx.error("site '\(site.name)': the local launcher runs one process per replica; use the mpirun "
                                     + "launcher for ranksPerReplica \(site.ranksPerReplica)", at: "\(path).ranksPerReplica"))
            default:
                break
            }
        }
        return out
    }

    static let batchDivisible = SpecRule("batch divides over ranks") { run, ctx in
        run.spec.sites.enumerated().compactMap { index, site in
            let batch = site.batchSize ?? run.spec.training.batchSize
            guard batch % site.ranksPerReplica != 0 else { return nil }
            let path = site.batchSize != nil ? "spec.sites[\(index)].batchSize" : "spec.sites[\(index)].ranksPerReplica"
            return ctx.error("site '\(site.name)': batch size \(batch) does not divide over \(site.ranksPerReplica) ranks per replica",
                             at: path)
        }
    }

    static let gpuKinds = SpecRule("known GPU kinds") { run, ctx in
        run.spec.sites.enumerated().compactMap { index, site in
            guard site.gpu.peakFLOPS == nil else { return nil }
            var message = "site '\(site.name)': unknown GPU kind '\(site.gpu.kind)'; set gpu.peakTFLOPS"
            if let guess = DidYouMean.suggestion(for: site.gpu.kind, among: GPUCatalog.known.map(\.name)) {
                message += " or write '\(guess)'"
            }
            return ctx.error(message, at: "spec.sites[\(index)].gpu.kind")
        }
    }

    static let canarySites = SpecRule("canary sites exist") { run, ctx in
        let names = run.spec.sites.map(\.name)
        return run.spec.rollout.canarySites.enumerated().compactMap { index, name in
            guard !names.contains(name) else { return nil }
            var message = "canary site '\(name)' is not a site of this run"
            if let guess = DidYouMean.suggestion(for: name, among: names) { message += "; did you mean '\(guess)'?" }
            return ctx.error(message, at: "spec.rollout.canarySites[\(index)]")
        }
    }

    /// A value in `env` is written into the spec text, the plan and the launch files, all readable by any viewer of
    /// the run: a secret there is refused, by its name or by the look of its value, and goes in `secretEnv` (read from
    /// the agent's environment where the replica starts, never stored).
    static let secrets = SpecRule("secrets stay out of plans") { run, ctx in
        var out: [Diagnostic] = []
        func check(_ env: [String: String], _ path: String) {
            for name in env.keys.sorted() {
                guard let why = SecretLook.reason(name: name, value: env[name] ?? "") else { continue }
                out.append(ctx.error("'\(name)' \(why), and env values are stored in the spec and plan that every viewer reads; "
                                     + "list it under engine.secretEnv and set it in the agent's environment", at: "\(path).\(name)"))
            }
        }
        check(run.spec.engine.env, "spec.engine.env")
        for (index, site) in run.spec.sites.enumerated() { check(site.env, "spec.sites[\(index)].env") }
        for (index, name) in run.spec.engine.secretEnv.enumerated() where run.spec.engine.env[name] != nil {
            out.append(ctx.error("'\(name)' is both in engine.env and engine.secretEnv", at: "spec.engine.secretEnv[\(index)]"))
        }
        return out
    }

    /// Replicas that share a host take consecutive port blocks; the last must stay below 65536.
    static let portRange = SpecRule("ports fit") { run, ctx in
        var perHost: [String: Int] = [:]
        for site in run.spec.sites {
            for host in site.launcher.replicaHosts(count: site.replicas, ranksPerReplica: site.ranksPerReplica) { perHost[host, default: 0] += 1 }
        }
        guard let (host, count) = perHost.max(by: { $0.value < $1.value }) else { return [] }
        let last = run.spec.network.basePort + count * NetworkSpec.portsPerReplica - 1
        guard last > 65535 else { return [] }
        return [ctx.error("\(count) replicas on host '\(host)' need ports up to \(last), past 65535; lower network.basePort "
                          + "or spread replicas over more hosts", at: "spec.network.basePort")]
    }

    /// Indices of repeated values, each with the index of its first occurrence.
    static func duplicates(_ values: [String]) -> [(Int, Int)] {
        var first: [String: Int] = [:]
        var out: [(Int, Int)] = []
        for (index, value) in values.enumerated() where !value.isEmpty {
            if let earlier = first[value] { out.append((index, earlier)) } else { first[value] = index }
        }
        return out
    }
}

extension LauncherSpec {
    /// The host each replica's leader runs on: round-robin over hosts (for local, this machine's addresses its
    /// replicas listen on and are reached at), `localhost` when none; one scheduler-chosen node per replica for slurm
    /// (named by the replica, as nodes are not shared).
    public func replicaHosts(count: Int, ranksPerReplica: Int = 1) -> [String] {
        switch kind {
        case .local:
            guard !hosts.isEmpty else { return Array(repeating: "localhost", count: count) }
            return (0..<count).map { hosts[$0 % hosts.count] }
        case .slurm:
            return (0..<count).map { "slurm-node-\($0)" }
        case .mpirun, .ssh:
            guard !hosts.isEmpty else { return Array(repeating: "localhost", count: count) }
            let perReplica = kind == .mpirun ? hostsPerReplica(ranksPerReplica) : 1
            return (0..<count).map { hosts[($0 * perReplica) % hosts.count] }
        }
    }

    /// Hosts one mpirun replica spans: its ranks over `slotsPerHost` slots each.
    public func hostsPerReplica(_ ranks: Int) -> Int {
        let slots = slotsPerHost ?? ranks
        return (ranks + slots - 1) / slots
    }
}
