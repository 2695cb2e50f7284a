import IntermeshSpec

/// What the compiler makes of one revision: per site, the replicas with ranks, ports, shards,
/// environment and command, the rendered launch files, and the time estimate.
///
/// Plans are deterministic: the same spec compiles to the same plan, byte for byte.
public struct Plan: Codable, Sendable, Hashable {
    public var apiVersion: String = TrainingRun.apiVersion
    public var kind: String = "Plan"
    public var runName: String
    /// Identity of the revision's content (the canonical spec).
    public var contentHash: String
    public var engine: EngineSpec.Kind
    public var parameters: Int
    public var totalReplicas: Int
    public var totalRanks: Int
    public var sites: [SitePlan]
    public var estimate: RunEstimate
    /// The canonical spec the plan was compiled from; engines read their settings from it.
    public var run: TrainingRun

    public func site(named name: String) -> SitePlan? { sites.first { $0.name == name } }

    /// How the control plane learns who is alive (the spec's `engine.membership`).
    public var membership: EngineSpec.Membership { run.spec.engine.membership }

    /// The replica of a slot such as `us-east/0`.
    /// The replica of a slot. Slots are `SITE/INDEX` and a site's replicas are in index order, so this is a look at
    /// one site, not a scan of every replica (heartbeats check every member's slot).
    public func replica(slot: String) -> (SitePlan, ReplicaPlan)? {
        guard let slash = slot.lastIndex(of: "/"), let site = site(named: String(slot[..<slash])) else { return nil }
        return site.replica(slot: slot).map { (site, $0) }
    }
}

/// One site of a plan.
public struct SitePlan: Codable, Sendable, Hashable {
    /// The replica of `slot` in this site: its index names it, so no scan.
    public func replica(slot: String) -> ReplicaPlan? {
        if let slash = slot.lastIndex(of: "/"), let index = Int(slot[slot.index(after: slash)...]), replicas.indices.contains(index),
           replicas[index].slot == slot {
            return replicas[index]
        }
        return replicas.first { $0.slot == slot }
    }

    public var name: String
    public var region: String?
    public var launcher: LauncherSpec.Kind
    /// Environment shared by every rank of the site (engine env, site env, run identity). No secrets.
    public var env: [String: String]
    /// Variables taken from the agent's environment at launch time, never written here.
    public var secretEnv: [String]
    public var replicas: [ReplicaPlan]
    public var estimate: SiteEstimate
    /// Rendered launch files, relative to the plan directory, with their digests.
    public var files: [PlanFile]
}

/// One replica slot: a stable identity that successive members (incarnations) fill.
public struct ReplicaPlan: Codable, Sendable, Hashable {
    /// `site/index`, stable across revisions while the site keeps the replica.
    public var slot: String
    public var index: Int
    /// Position among all replicas of the run (site order, then index).
    public var globalIndex: Int
    /// Host of the replica's leader rank.
    public var host: String
    public var ranks: [RankPlan]
    public var ports: Ports
    public var dataShard: DataShard
    /// Per-replica environment, added to the site's.
    public var env: [String: String]
    /// Program and arguments each process of the replica runs (the launcher wraps it).
    public var command: [String]
    /// A digest of everything the replica's launch depends on (`LaunchSignature`): a running replica launched with
    /// another signature is relaunched. The agent and the control plane's rollout both read it from here.
    public var launchSignature: String

    public init(slot: String, index: Int, globalIndex: Int, host: String, ranks: [RankPlan], ports: Ports, dataShard: DataShard,
                env: [String: String], command: [String], launchSignature: String = "") {
        self.slot = slot
        self.index = index
        self.globalIndex = globalIndex
        self.host = host
        self.ranks = ranks
        self.ports = ports
        self.dataShard = dataShard
        self.env = env
        self.command = command
        self.launchSignature = launchSignature
    }

    public var worldSize: Int { ranks.count }
    /// Directory of the replica's launch files, relative to the plan directory.
    public func directory(site: String) -> String { "sites/\(site)/replica-\(index)" }
}

public struct RankPlan: Codable, Sendable, Hashable {
    public var globalRank: Int
    public var localRank: Int
    public var host: String
}

/// Ports of one replica, a block on its leader's host.
public struct Ports: Codable, Sendable, Hashable {
    /// Outer all-reduce ring.
    public var ring: Int
    /// Live recovery (donor) server.
    public var recovery: Int
    /// Rank rendezvous inside the replica (torchrun, MPI port).
    public var rendezvous: Int
    public var metrics: Int
}

/// The replica's deterministic slice of the data: shard `index` of `count`, sampled with `seed`.
public struct DataShard: Codable, Sendable, Hashable {
    public var index: Int
    public var count: Int
    public var seed: Int
}

/// A rendered file of the plan tree.
public struct PlanFile: Codable, Sendable, Hashable {
    public var path: String
    public var sha256: String
    public var executable: Bool
}
