import Foundation
import IntermeshPlan
import IntermeshSpec
import Testing

@Suite struct PlannerTests {
    @Test func slotsRanksPortsAndShards() throws {
        let plan = Planner.compile(try Repo.run("specs/local.yaml"))
        let replicas = plan.sites.flatMap(\.replicas)
        #expect(replicas.map(\.slot) == ["alpha/0", "beta/0", "gamma/0"])
        #expect(replicas.map(\.globalIndex) == [0, 1, 2])
        #expect(replicas.map { $0.ranks.map(\.globalRank) } == [[0], [1, 2], [3]])
        #expect(replicas[1].ranks.map(\.localRank) == [0, 1])
        #expect(plan.totalRanks == 4)
        // All three share localhost, so each takes its own block of ports.
        #expect(replicas.map(\.ports.ring) == [29500, 29504, 29508])
        #expect(Set(replicas.flatMap { [$0.ports.ring, $0.ports.recovery, $0.ports.rendezvous, $0.ports.metrics] }).count == 12)
        #expect(replicas.map(\.dataShard.index) == [0, 1, 2])
        #expect(replicas.allSatisfy { $0.dataShard.count == 3 })
    }

    @Test func slotsAreStableWhenASiteIsAdded() throws {
        let base = Planner.compile(try Repo.run(text: tinySpec))
        let grown = Planner.compile(try Repo.run(text: tinySpec + "    - name: beta\n      replicas: 1\n"))
        #expect(grown.sites[0].replicas.map(\.slot) == base.sites[0].replicas.map(\.slot))
        #expect(grown.sites[1].replicas.map(\.slot) == ["beta/0"])
    }

    @Test func mpirunSpreadsRanksOverHosts() throws {
        let text = tinySpec.replacingOccurrences(of: "      replicas: 2\n", with: """
              replicas: 2
              ranksPerReplica: 4
              batchSize: 8
              launcher: {kind: mpirun, hosts: [h1, h2, h3, h4], slotsPerHost: 2}

        """)
        let plan = Planner.compile(try Repo.run(text: text))
        let replicas = plan.sites[0].replicas
        #expect(replicas[0].ranks.map(\.host) == ["h1", "h1", "h2", "h2"])
        #expect(replicas[1].ranks.map(\.host) == ["h3", "h3", "h4", "h4"])
        #expect(replicas.map(\.ports.ring) == [29500, 29500])
    }

    /// A Slurm job may land on the machine of any other site (a one-node cluster on the agent's host, a login node
    /// that also runs local replicas): its ports are a block no other replica of the run has, wherever the site is listed.
    @Test(arguments: [
        (["local", "slurm", "local"], [[29500, 29504], [29508, 29512], [29516]]),
        (["slurm", "local", "slurm"], [[29500, 29504], [29508, 29512], [29516]]),
        (["local", "local", "local"], [[29500, 29504], [29508, 29512], [29516]]),
        (["slurm", "slurm", "slurm"], [[29500, 29504], [29508, 29512], [29516]]),
    ])
    func slurmReplicasShareNoPortsWithAnyOtherReplica(launchers: [String], rings: [[Int]]) throws {
        var text = tinySpec.replacingOccurrences(of: "    - name: alpha\n      replicas: 2\n", with: "")
        for (index, launcher) in launchers.enumerated() {
            let slurm = launcher == "slurm" ? ", partition: debug" : ""
            text += "    - name: s\(index)\n      replicas: \(index == 2 ? 1 : 2)\n      launcher: {kind: \(launcher)\(slurm)}\n"
        }
        let plan = Planner.compile(try Repo.run(text: text))
        #expect(plan.sites.map { $0.replicas.map(\.ports.ring) } == rings)
        let ports = plan.sites.flatMap(\.replicas).flatMap { [$0.ports.ring, $0.ports.recovery, $0.ports.rendezvous, $0.ports.metrics] }
        #expect(Set(ports).count == ports.count)
    }

    @Test func slurmAfterAnotherHostsReplicasTakesABlockAboveThem() throws {
        var text = tinySpec.replacingOccurrences(of: "      replicas: 2\n", with: "      replicas: 3\n      launcher: {kind: ssh, hosts: [h1, h2, h3]}\n")
        text += "    - name: beta\n      replicas: 1\n    - name: gamma\n      replicas: 1\n      launcher: {kind: slurm, partition: debug}\n"
        let plan = Planner.compile(try Repo.run(text: text))
        // alpha's three hosts and beta's localhost each start at block 0; gamma's job may land on any of them.
        #expect(plan.sites.map { $0.replicas.map(\.ports.ring) } == [[29500, 29500, 29500], [29500], [29504]])
    }

    /// How often a torchft group retries a quorum call (one a control-plane failover cut) is the spec's to say:
    /// torchft's own default (none) otherwise.
    @Test(arguments: [
        ("", nil),
        ("      TORCHFT_QUORUM_RETRIES: \"3\"\n", "3"),
    ] as [(String, String?)])
    func torchftQuorumRetriesComeFromTheSpec(engineEnv: String, expected: String?) throws {
        let text = try String(contentsOfFile: Repo.path("specs/torchft-local.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "      OMP_NUM_THREADS: \"1\"\n", with: "      OMP_NUM_THREADS: \"1\"\n" + engineEnv)
        let plan = Planner.compile(try Repo.run(text: text))
        for site in plan.sites {
            for replica in site.replicas {
                #expect((replica.env["TORCHFT_QUORUM_RETRIES"] ?? site.env["TORCHFT_QUORUM_RETRIES"]) == expected)
                #expect(replica.env["TORCHFT_QUORUM_RETRIES"] == nil || site.env["TORCHFT_QUORUM_RETRIES"] == nil)
            }
        }
        let reference = Planner.compile(try Repo.run("specs/local.yaml"))
        #expect(reference.sites.flatMap(\.replicas).allSatisfy { $0.env["TORCHFT_QUORUM_RETRIES"] == nil })
    }

    @Test func primeAndTorchrunVariables() throws {
        let prime = Planner.compile(try Repo.run("specs/intellect-1.yaml"))
        let second = prime.sites[1].replicas[0]
        #expect(second.env["GLOBAL_RANK"] == "1")
        #expect(second.env["GLOBAL_WORLD_SIZE"] == "14")
        #expect(second.env["GLOBAL_ADDR"] == "node-00.us-west.example.net")
        #expect(second.command.prefix(3) == ["torchrun", "--nnodes=1", "--nproc_per_node=8"])
        let mixed = Planner.compile(try Repo.run("specs/mixed.yaml"))
        let donated = try #require(mixed.site(named: "donated")?.replicas.last)
        #expect(donated.env["REPLICA_GROUP_ID"] == "6")
        #expect(donated.env["NUM_REPLICA_GROUPS"] == "7")
    }

    @Test func plansCarryNoSecrets() throws {
        let (plan, files) = try Repo.compile(Repo.run("specs/intellect-1.yaml"))
        let json = String(decoding: PlanWriter.json(plan), as: UTF8.self)
        #expect(plan.sites.allSatisfy { $0.secretEnv == ["WANDB_API_KEY", "HF_TOKEN"] })
        // Secret names appear only as references that the launch script resolves from its environment.
        #expect(!json.contains("WANDB_API_KEY="))
        #expect(files.allSatisfy { !$0.contents.contains("WANDB_API_KEY=") || $0.contents.contains("${!name:-}") })
    }

    @Test func portOverflowIsAValidationError() {
        let text = tinySpec.replacingOccurrences(of: "replicas: 2", with: "replicas: 9000")
        let loaded = SpecLoader().load(name: "ports.yaml", text: text)
        #expect(loaded.diagnostics.map(\.description).contains {
            $0.contains("9000 replicas on host 'localhost' need ports up to 65499")
        } == false)
        let many = tinySpec.replacingOccurrences(of: "replicas: 2", with: "replicas: 9100")
        let tooMany = SpecLoader().load(name: "ports.yaml", text: many)
        #expect(tooMany.diagnostics.map(\.message) == [
            "9100 replicas on host 'localhost' need ports up to 65899, past 65535; lower network.basePort or spread replicas over more hosts",
        ])
    }
}
