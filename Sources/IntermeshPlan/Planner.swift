import IntermeshSpec

/// Compiles a validated run into a `Plan`: slots, ranks, ports, shards, environment, commands, estimate.
///
/// Pure and deterministic; rendering launch files is a separate step (`LaunchRenderer`).
public enum Planner {
    public static func compile(_ run: TrainingRun) -> Plan {
        let spec = run.spec
        let adapter = EngineAdapter(kind: spec.engine.kind, membership: spec.engine.membership)
        let estimates = Estimator.estimate(run: run)
        let hash = run.contentHash
        let totalReplicas = spec.totalReplicas
        let totalRanks = spec.sites.reduce(0) { $0 + $1.replicas * $1.ranksPerReplica }

        var portBlocks = PortBlocks()
        var globalIndex = 0
        var globalRank = 0
        var first: (host: String, port: Int)?
        var sites: [SitePlan] = []
        sites.reserveCapacity(spec.sites.count)
        let inputs = SpecDiff.launchInputs(of: run)

        for site in spec.sites {
            let launcher = site.launcher
            let siteDigest = LaunchSignature.siteDigest(everySite: inputs.everySite, site: inputs.sites[site.name] ?? [])
            let leaders = launcher.replicaHosts(count: site.replicas, ranksPerReplica: site.ranksPerReplica)
            var replicas: [ReplicaPlan] = []
            replicas.reserveCapacity(site.replicas)
            for index in 0..<site.replicas {
                let portHost = leaders[index]
                let block = launcher.kind == .slurm ? portBlocks.takeAnywhere() : portBlocks.take(host: portHost)
                let base = spec.network.basePort + block * NetworkSpec.portsPerReplica
                let ports = Ports(ring: base, recovery: base + 1, rendezvous: base + 2, metrics: base + 3)
                let host = launcher.kind == .slurm ? "slurm" : portHost
                let ranks = rankPlans(site: site, replicaIndex: index, firstGlobalRank: globalRank, leader: host)
                if first == nil { first = (host, ports.ring) }
                let slot = "\(site.name)/\(index)"
                let info = EngineAdapter.ReplicaInfo(
                    slot: slot, globalIndex: globalIndex, ranks: site.ranksPerReplica, ports: ports,
                    firstHost: first?.host ?? host, firstPort: first?.port ?? ports.ring, totalReplicas: totalReplicas)
                let shard = DataShard(index: globalIndex, count: totalReplicas, seed: spec.training.seed &+ globalIndex)
                var env: [String: String] = [
                    "INTERMESH_SLOT": slot,
                    "INTERMESH_REPLICA_INDEX": String(globalIndex),
                    "INTERMESH_RING_PORT": String(ports.ring),
                    "INTERMESH_RECOVERY_PORT": String(ports.recovery),
                    "INTERMESH_RENDEZVOUS_PORT": String(ports.rendezvous),
                    "INTERMESH_METRICS_PORT": String(ports.metrics),
                    "INTERMESH_DATA_SHARD": String(shard.index),
                ]
                env.merge(adapter.env(run, info)) { _, engine in engine }
                var replica = ReplicaPlan(slot: slot, index: index, globalIndex: globalIndex, host: host, ranks: ranks, ports: ports,
                                          dataShard: shard, env: env, command: adapter.command(run, info))
                replica.launchSignature = LaunchSignature.of(replica, siteDigest: siteDigest)
                replicas.append(replica)
                globalIndex += 1
                globalRank += site.ranksPerReplica
            }
            var env = spec.engine.env
            env.merge(site.env) { _, site in site }
            env.merge([
                "INTERMESH_RUN": run.metadata.name,
                "INTERMESH_SITE": site.name,
                "INTERMESH_REVISION_HASH": hash,
                "INTERMESH_ENGINE": spec.engine.kind.rawValue,
                "INTERMESH_MEMBERSHIP": spec.engine.membership.rawValue,
                "INTERMESH_REPLICA_COUNT": String(totalReplicas),
                "INTERMESH_DATA_SHARDS": String(totalReplicas),
            ]) { _, ours in ours }
            sites.append(SitePlan(
                name: site.name, region: site.region, launcher: launcher.kind, env: env,
                secretEnv: spec.engine.secretEnv, replicas: replicas,
                estimate: estimates.sites[site.name]!, files: []))
        }
        return Plan(
            runName: run.metadata.name, contentHash: hash, engine: spec.engine.kind,
            parameters: spec.model.parameterCount, totalReplicas: totalReplicas, totalRanks: totalRanks,
            sites: sites, estimate: estimates.run, run: run)
    }

    /// Ranks of one replica: mpirun spreads them over `slotsPerHost` slots per host; others keep them on the leader.
    static func rankPlans(site: SiteSpec, replicaIndex: Int, firstGlobalRank: Int, leader: String) -> [RankPlan] {
        let launcher = site.launcher
        let perReplica = launcher.kind == .mpirun ? launcher.hostsPerReplica(site.ranksPerReplica) : 1
        let slots = launcher.slotsPerHost ?? site.ranksPerReplica
        return (0..<site.ranksPerReplica).map { local in
            var host = leader
            if launcher.kind == .mpirun, !launcher.hosts.isEmpty {
                host = launcher.hosts[(replicaIndex * perReplica + local / slots) % launcher.hosts.count]
            }
            return RankPlan(globalRank: firstGlobalRank + local, localRank: local, host: host)
        }
    }
}
