import Crypto
import Foundation
import IntermeshSpec

/// A file of the plan tree, rendered.
public struct RenderedFile: Sendable, Hashable {
    public var path: String
    public var contents: String
    public var executable: Bool

    public init(path: String, contents: String, executable: Bool) {
        self.path = path
        self.contents = contents
        self.executable = executable
    }

    public var sha256: String {
        SHA256.hash(data: Data(contents.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Renders each replica's launch files from the templates: the launcher's files and the engine's.
public struct LaunchRenderer: Sendable {
    public let templates: TemplateSet

    public init(templates: TemplateSet) {
        self.templates = templates
    }

    /// Files of every replica (of `onlySite`'s, for an agent's view of the plan), in plan order; the plan's `files`
    /// lists are filled in.
    public func render(_ plan: inout Plan, onlySite: String? = nil) throws(TemplateSet.Failure) -> [RenderedFile] {
        let adapter = EngineAdapter(kind: plan.engine, membership: plan.membership)
        var all: [RenderedFile] = []
        for siteIndex in plan.sites.indices where onlySite == nil || plan.sites[siteIndex].name == onlySite {
            let site = plan.sites[siteIndex]
            guard let spec = plan.run.spec.sites.first(where: { $0.name == site.name }) else { continue }
            var files: [RenderedFile] = []
            for replica in site.replicas {
                let context = LaunchContext.make(plan: plan, site: site, spec: spec, replica: replica, adapter: adapter)
                let directory = replica.directory(site: site.name)
                for name in LaunchContext.launcherTemplates(spec.launcher.kind) + adapter.templates {
                    let fileName = String(name.split(separator: "/").last ?? "")
                    let text = try templates.render(name, context: context)
                    files.append(RenderedFile(path: "\(directory)/\(fileName)", contents: text, executable: fileName.hasSuffix(".sh")))
                }
            }
            plan.sites[siteIndex].files = files.map { PlanFile(path: $0.path, sha256: $0.sha256, executable: $0.executable) }
            all += files
        }
        return all
    }
}

/// The values a launch template sees. Plain data; quoting happens in the templates (SHELL content type).
enum LaunchContext {
    static func launcherTemplates(_ kind: LauncherSpec.Kind) -> [String] {
        switch kind {
        case .local: return ["launchers/local/launch.sh"]
        case .mpirun: return ["launchers/mpirun/launch.sh", "launchers/mpirun/hostfile"]
        case .slurm: return ["launchers/slurm/launch.sh", "launchers/slurm/job.sbatch"]
        case .ssh: return ["launchers/ssh/launch.sh"]
        }
    }

    static func make(plan: Plan, site: SitePlan, spec: SiteSpec, replica: ReplicaPlan, adapter: EngineAdapter) -> [String: Any] {
        let run = plan.run
        var env = site.env
        env.merge(replica.env) { _, replica in replica }
        let command = ShellQuote.command(replica.command)
        let launcher = spec.launcher
        let aliases = adapter.runtimeAliases(run: plan.runName, slot: replica.slot, globalIndex: replica.globalIndex)
        var context: [String: Any] = [
            "run": plan.runName,
            "site": site.name,
            "slot": replica.slot,
            "index": replica.index,
            "jobName": "\(plan.runName)-\(site.name)-\(replica.index)",
            "contentHash": plan.contentHash,
            "ranks": replica.worldSize,
            "host": replica.host,
            "env": env.keys.sorted().map { ["name": $0, "value": env[$0] ?? ""] as [String: Any] },
            "secretEnv": site.secretEnv.map {
                ["name": $0, "check": "${\($0):?\($0) must be set in the agent environment}"] as [String: Any]
            },
            "runtimeEnv": aliases.map { ["name": $0.name, "ref": $0.value] as [String: Any] },
            "hasWorkingDirectory": run.spec.engine.workingDirectory != nil,
            "workingDirectory": run.spec.engine.workingDirectory ?? "",
            "command": command,
            "extraArgs": launcher.extraArgs.map(ShellQuote.quote).joined(separator: " "),
        ]
        switch launcher.kind {
        case .local:
            break
        case .mpirun:
            var slots: [(String, Int)] = []
            for rank in replica.ranks {
                if let last = slots.last, last.0 == rank.host { slots[slots.count - 1].1 += 1 } else { slots.append((rank.host, 1)) }
            }
            context["hosts"] = slots.map { ["name": $0.0, "slots": $0.1] as [String: Any] }
            context["exportedEnv"] = (env.keys.sorted() + site.secretEnv + aliases.map(\.name)
                + ["INTERMESH_PLAN", "INTERMESH_PLAN_DIR", "INTERMESH_REPLICA_DIR", "INTERMESH_MEMBER_ID", "INTERMESH_INCARNATION",
                   "INTERMESH_CHECKPOINT_DIR", "INTERMESH_SERVER", "INTERMESH_TOKEN_FILE"])
                .map { "-x \($0)" }.joined(separator: " ")
        case .slurm:
            let gpus = spec.gpu.kind.lowercased() == "cpu" ? 0 : spec.gpu.count
            var directives = ["--job-name=\(plan.runName)-\(site.name)-\(replica.index)", "--nodes=1",
                              "--ntasks-per-node=1", "--cpus-per-task=\(max(1, replica.worldSize))"]
            if gpus > 0 { directives.append("--gpus-per-node=\(gpus)") }
            if let partition = launcher.partition { directives.append("--partition=\(partition)") }
            if let account = launcher.account { directives.append("--account=\(account)") }
            if let limit = launcher.timeLimit { directives.append("--time=\(slurmTime(limit))") }
            // Directives are built from validated words and numbers only; sbatch reads them unquoted.
            context["directives"] = directives.map { ["text": $0] as [String: Any] }
        case .ssh:
            // No terminal; a link that stays silent for a minute ends the client, and with it the remote replica.
            var options = ["-T", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"]
            if let port = launcher.port { options += ["-p", String(port)] }
            if let identity = launcher.identityFile { options += ["-i", identity] }
            context["sshOptions"] = (options + launcher.extraArgs).map(ShellQuote.quote).joined(separator: " ")
            context["destination"] = launcher.user.map { "\($0)@\(replica.host)" } ?? replica.host
            // One string for the remote shell: this file's shell passes it on literally (quoted once more).
            var remote = ""
            if let directory = run.spec.engine.workingDirectory { remote += "cd \(ShellQuote.quote(directory)) && " }
            remote += "exec env " + env.keys.sorted().map { "\($0)=\(ShellQuote.quote(env[$0] ?? ""))" }.joined(separator: " ")
            for alias in aliases { remote += " \(alias.name)=\"\(alias.value)\"" }
            context["remoteCommand"] = remote + " " + command
        }
        if adapter.kind == .prime {
            context["prime"] = primeContext(plan: plan, spec: spec)
        }
        return context
    }

    static func slurmTime(_ duration: DurationValue) -> String {
        let total = max(60, Int((duration.seconds).rounded(.up)))
        let days = total / 86_400, hours = total % 86_400 / 3600, minutes = total % 3600 / 60, seconds = total % 60
        let clock = String(format: "%02d:%02d:%02d", hours, minutes, seconds)
        return days > 0 ? "\(days)-\(clock)" : clock
    }

    /// Values of PRIME's config.toml (its `[diloco]`, `[optim]` and `[data]` sections).
    static func primeContext(plan: Plan, spec: SiteSpec) -> [String: Any] {
        let training = plan.run.spec.training
        let inner = training.innerOptimizer
        let batch = spec.batchSize ?? training.batchSize
        let config = plan.run.spec.engine.config
        return [
            "name": tomlString(plan.runName),
            "batchSize": batch,
            "microBatchSize": max(1, batch / max(1, spec.ranksPerReplica)),
            "seqLength": plan.run.spec.model.sequenceLength,
            "lr": formatNumber(spec.innerLr ?? inner.lr),
            "weightDecay": formatNumber(inner.weightDecay),
            "beta1": formatNumber(inner.beta1),
            "beta2": formatNumber(inner.beta2),
            "warmupSteps": inner.schedule.warmupSteps,
            "schedule": tomlString(inner.schedule.kind.rawValue),
            "totalSteps": totalInnerSteps(plan.run, batch: batch),
            "innerSteps": training.innerSteps,
            "outerLr": formatNumber(training.outerOptimizer.lr),
            "momentum": formatNumber(training.outerOptimizer.momentum),
            "compression": tomlString(training.quantization == .int8 ? "uint8" : "no"),
            "checkpointInterval": training.checkpoint.interval,
            "checkpointPath": tomlString(training.checkpoint.path),
            "dataMix": plan.run.spec.data.mix.map { ["name": $0.name, "weight": formatNumber($0.weight)] as [String: Any] },
            "datasetPaths": tomlString(plan.run.spec.data.mix.map(\.path).joined(separator: ",")),
            "datasetRatio": tomlString(plan.run.spec.data.mix.map { formatNumber(($0.weight * 1000).rounded() / 10) }.joined(separator: ":")),
            "hasExtra": !config.isEmpty,
            "extra": config.keys.sorted().map { ["key": tomlKey($0), "value": tomlString(config[$0] ?? "")] as [String: Any] },
        ]
    }

    /// Inner steps of the whole run per replica: from outerSteps, else from totalTokens; 0 when open-ended.
    static func totalInnerSteps(_ run: TrainingRun, batch: Int) -> Int {
        let training = run.spec.training
        if let outer = training.outerSteps { return outer * training.innerSteps }
        guard let tokens = training.totalTokens?.value, run.spec.totalReplicas > 0 else { return 0 }
        let perStep = UInt64(batch * run.spec.model.sequenceLength * run.spec.totalReplicas)
        return Int((tokens + perStep - 1) / perStep)
    }

    static func formatNumber(_ value: Double) -> String {
        var text = String(value)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    /// A TOML basic string with escapes, so no value can break out of its line.
    static func tomlString(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += String(format: "\\u%04X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func tomlKey(_ key: String) -> String {
        key.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0) }
            ? key : tomlString(key)
    }
}
