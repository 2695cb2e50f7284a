import Foundation
import IntermeshPlan
import IntermeshSpec

/// `intermesh-bench plan`: validate and compile a generated 1,000-site x 100-replica spec, and validate a 1 MB spec.
@main
enum Bench {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        switch arguments.first {
        case "plan":
            planBenchmark(sites: intOption("--sites", arguments) ?? 1000, replicas: intOption("--replicas", arguments) ?? 100)
        case "trainer":
            TrainerBench.run(innerSteps: intOption("--inner-steps", arguments) ?? 100)
        case "heartbeats":
            do {
                // With --tls: the same run over plain HTTP, then over TLS; with --postgres: on SQLite, then on PostgreSQL.
                let variants: [(tls: Bool, postgres: Bool)] = arguments.contains("--tls") ? [(false, false), (true, false)]
                    : arguments.contains("--postgres") ? [(false, false), (false, true)] : [(false, false)]
                for (tls, postgres) in variants {
                    if arguments.contains("--tls") { print("\n=== \(tls ? "TLS (https, a private authority)" : "plain HTTP") ===") }
                    if arguments.contains("--postgres") { print("\n=== \(postgres ? "PostgreSQL (a private cluster on this machine)" : "SQLite") ===") }
                    try await HeartbeatBench.run(sites: intOption("--sites", arguments) ?? 1000, replicas: intOption("--replicas", arguments) ?? 100,
                                                 interval: 2, duration: Double(intOption("--duration", arguments) ?? 30),
                                                 killSites: intOption("--kill-sites", arguments) ?? 1,
                                                 schedule: try HeartbeatBench.Schedule(option: stringOption("--schedule", arguments)),
                                                 samples: stringOption("--samples", arguments), tls: tls, postgres: postgres)
                }
            } catch {
                FileHandle.standardError.write(Data("heartbeats: \(error)\n".utf8))
                exit(1)
            }
        case "rollouts":
            do {
                let spec = stringOption("--spec", arguments) ?? "specs/local.yaml"
                try await RolloutBench.run(applies: intOption("--applies", arguments) ?? 5, spec: spec)
            } catch {
                FileHandle.standardError.write(Data("rollouts: \(error)\n".utf8))
                exit(1)
            }
        case "lighthouse":
            do {
                let list = { (name: String, fallback: [Int]) in stringOption(name, arguments).map { $0.split(separator: ",").compactMap { Int($0) } } ?? fallback }
                try await LighthouseBench.run(quorumSizes: list("--quorum-groups", [2, 16, 128, 1000]),
                                              heartbeatSizes: list("--heartbeat-groups", [1000, 10000]),
                                              duration: Double(intOption("--duration", arguments) ?? 10),
                                              torchftLighthouse: stringOption("--torchft-lighthouse", arguments) ?? ".venv/bin/torchft_lighthouse")
            } catch {
                FileHandle.standardError.write(Data("lighthouse: \(error)\n".utf8))
                exit(1)
            }
        case "applies":
            do {
                try await AppliesBench.run(count: intOption("--count", arguments) ?? 200, clients: intOption("--clients", arguments) ?? 8)
            } catch {
                FileHandle.standardError.write(Data("applies: \(error)\n".utf8))
                exit(1)
            }
        case "failover":
            do {
                try await FailoverBench.run(rounds: intOption("--rounds", arguments) ?? 5, lease: intOption("--lease", arguments) ?? 10,
                                            interval: intOption("--interval", arguments) ?? 1)
            } catch {
                FileHandle.standardError.write(Data("failover: \(error)\n".utf8))
                exit(1)
            }
        case "lighthouse-floor":
            do {
                try await LighthouseFloor.serve(port: intOption("--port", arguments) ?? 0)
            } catch {
                FileHandle.standardError.write(Data("lighthouse-floor: \(error)\n".utf8))
                exit(1)
            }
        default:
            FileHandle.standardError.write(Data("usage: intermesh-bench plan [--sites N] [--replicas N] [--json]\n       intermesh-bench trainer [--inner-steps H]\n       intermesh-bench heartbeats [--sites N] [--replicas N] [--duration S] [--kill-sites N] [--schedule grid|after-answer] [--samples FILE] [--tls | --postgres]\n       intermesh-bench rollouts [--applies N] [--spec FILE]\n       intermesh-bench lighthouse [--quorum-groups 2,16,128,1000] [--heartbeat-groups 1000,10000] [--duration S] [--torchft-lighthouse PATH]\n       intermesh-bench lighthouse-floor [--port N]\n       intermesh-bench failover [--rounds N] [--lease S] [--interval S]\n       intermesh-bench applies [--count N] [--clients N]\n".utf8))
            exit(2)
        }
    }

    static func intOption(_ name: String, _ arguments: [String]) -> Int? {
        stringOption(name, arguments).flatMap { Int($0) }
    }

    static func stringOption(_ name: String, _ arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }

    static func planBenchmark(sites: Int, replicas: Int) {
        let big = SpecGenerator.spec(sites: sites, replicasPerSite: replicas)
        print("spec: \(sites) sites x \(replicas) replicas = \(sites * replicas) replicas, \(big.utf8.count) bytes of YAML")

        let start = ContinuousClock.now
        let loaded = SpecLoader().load(name: "generated.yaml", text: big)
        let validated = ContinuousClock.now
        guard let run = loaded.validRun else {
            print("generated spec is invalid: \(loaded.diagnostics.prefix(3))")
            exit(1)
        }
        let plan = Planner.compile(run)
        let compiled = ContinuousClock.now
        let compileRSS = peakRSSMiB()
        print("validate: \(ms(validated - start)) ms")
        print("compile:  \(ms(compiled - validated)) ms (\(plan.totalReplicas) replicas, \(plan.totalRanks) ranks)")
        print("validate + compile: \(ms(compiled - start)) ms, peak RSS \(compileRSS) MiB")
        if CommandLine.arguments.contains("--json") {
            let json = PlanWriter.json(plan)
            print("plan.json: \(ms(ContinuousClock.now - compiled)) ms to encode, \(json.count) bytes, peak RSS \(peakRSSMiB()) MiB")
        }

        // A spec of about 1 MB: many sites with environment and hosts, the size a hand-written spec never reaches.
        let perSite = SpecGenerator.spec(sites: 101, replicasPerSite: 4, padded: true).utf8.count
            - SpecGenerator.spec(sites: 1, replicasPerSite: 4, padded: true).utf8.count
        let sitesFor1MB = 1_000_000 / (perSite / 100) + 1
        let mega = SpecGenerator.spec(sites: sitesFor1MB, replicasPerSite: 4, padded: true)
        let megaStart = ContinuousClock.now
        let megaLoaded = SpecLoader().load(name: "1mb.yaml", text: mega)
        let megaTime = ContinuousClock.now - megaStart
        print("validate \(mega.utf8.count) bytes (\(sitesFor1MB) sites): \(ms(megaTime)) ms, valid: \(megaLoaded.isValid)")
    }

    static func ms(_ duration: Duration) -> String {
        let c = duration.components
        return String(format: "%.1f", Double(c.seconds) * 1000 + Double(c.attoseconds) / 1e15)
    }

    static func peakRSSMiB() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) / 1024
    }
}

/// Generates valid specs of any size (small ones: `TinySpec`).
enum SpecGenerator {
    static func spec(sites: Int, replicasPerSite: Int, padded: Bool = false) -> String {
        var out = """
        apiVersion: intermesh/v1
        kind: TrainingRun
        metadata:
          name: bench
        spec:
          engine: {kind: prime}
          model: {kind: transformer, layers: 42, hiddenSize: 4096, heads: 32, kvHeads: 8, ffnHiddenSize: 14336, activation: swiglu, vocabSize: 128256, sequenceLength: 8192}
          data:
            mix:
              - {name: web, path: data/web, weight: 0.7}
              - {name: code, path: data/code, weight: 0.3}
          training: {innerSteps: 100, batchSize: 128}
          faultPolicy: {minReplicas: 1}
          sites:

        """
        out.reserveCapacity(sites * (padded ? 600 : 200))
        for index in 0..<sites {
            out += "    - name: site-\(index)\n      region: r\(index % 7)\n      replicas: \(replicasPerSite)\n"
            out += "      ranksPerReplica: 8\n      gpu: {kind: H100}\n      bandwidth: \(1 + index % 4)Gbps\n"
            if padded {
                out += "      launcher:\n        kind: ssh\n        user: trainer\n        hosts: [a\(index).example.net, b\(index).example.net]\n"
                out += "      env:\n        NCCL_DEBUG: WARN\n        NCCL_SOCKET_IFNAME: eth0\n        SITE_NOTE: \"site number \(index) of the benchmark\"\n"
            } else {
                out += "      launcher: {kind: slurm, partition: gpu}\n"
            }
        }
        return out
    }
}
