import Crypto
import Foundation
import IntermeshSpec

/// What a replica's launch depends on, as one digest: the spec's restart-class fields for its site
/// (`SpecDiff.launchInputs`: launcher, hosts, environment, engine, data sources, network, checkpoint path) and
/// where the planner put it (host, ranks, ports, command, environment). Values the planner derives from the whole
/// run's size or revision are left out: a running replica does without their new values.
public enum LaunchSignature {
    /// Variables that change with every revision (or with the run's size) and that a running replica does without.
    public static let runIdentity: Set<String> = [
        "INTERMESH_REVISION_HASH", "INTERMESH_REPLICA_COUNT", "INTERMESH_DATA_SHARDS", "INTERMESH_REPLICA_INDEX", "INTERMESH_DATA_SHARD",
    ]

    /// The digest of a site's spec inputs, shared by its replicas.
    static func siteDigest(everySite: [String], site: [String]) -> SHA256.Digest {
        SHA256.hash(data: Data((everySite + ["--"] + site).joined(separator: "\n").utf8))
    }

    /// The replica's signature: its site's digest and its own placement. Planned for every replica of a run
    /// (100,000 in the benchmark), so it builds one string and formats the digest by hand.
    static func of(_ replica: ReplicaPlan, siteDigest: SHA256.Digest) -> String {
        var text = replica.host + "\u{2}"
        text.reserveCapacity(512)
        for rank in replica.ranks { text += rank.host + "/" + String(rank.localRank) + "," }
        let ports = replica.ports
        text += "\u{2}" + String(ports.ring) + "," + String(ports.recovery) + "," + String(ports.rendezvous) + "," + String(ports.metrics) + "\u{2}"
        for key in replica.env.keys.sorted() where !runIdentity.contains(key) { text += key + "=" + replica.env[key]! + "\u{1}" }
        text += "\u{2}" + replica.command.joined(separator: "\u{1}")
        var hasher = SHA256()
        siteDigest.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        hasher.update(data: Data(text.utf8))
        return "sha256:" + hex(hasher.finalize().prefix(16))
    }

    static let digits = Array("0123456789abcdef".utf8)

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Plan {
    /// Per site of both plans, the slots whose launch changed from `old` to this plan: their running replicas are
    /// relaunched (one at a time). Slots new to this plan are launched, not relaunched.
    public func relaunches(from old: Plan) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for site in sites {
            guard let before = old.site(named: site.name) else { continue }
            let signatures = Dictionary(before.replicas.map { ($0.slot, $0.launchSignature) }, uniquingKeysWith: { a, _ in a })
            let changed = site.replicas.filter { replica in signatures[replica.slot].map { $0 != replica.launchSignature } ?? false }.map(\.slot)
            if !changed.isEmpty { out[site.name] = changed }
        }
        return out
    }
}

extension ReplicaPlan {
    enum CodingKeys: String, CodingKey {
        case slot, index, globalIndex, host, ranks, ports, dataShard, env, command, launchSignature
    }

    /// Plans stored before signatures were planned decode with an empty one (their replicas relaunch once).
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(slot: try container.decode(String.self, forKey: .slot), index: try container.decode(Int.self, forKey: .index),
                  globalIndex: try container.decode(Int.self, forKey: .globalIndex), host: try container.decode(String.self, forKey: .host),
                  ranks: try container.decode([RankPlan].self, forKey: .ranks), ports: try container.decode(Ports.self, forKey: .ports),
                  dataShard: try container.decode(DataShard.self, forKey: .dataShard), env: try container.decode([String: String].self, forKey: .env),
                  command: try container.decode([String].self, forKey: .command),
                  launchSignature: try container.decodeIfPresent(String.self, forKey: .launchSignature) ?? "")
    }
}
