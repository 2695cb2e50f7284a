import Crypto
import Foundation
import IntermeshSpec

/// What a replica's launch depends on, as one signature: the spec's restart-class fields for its site
/// (`SpecDiff.launchInputs`: launcher, hosts, environment, engine, data sources, network, checkpoint path) and
/// where the planner put it (host, ranks, ports, command, environment). Values the planner derives from the whole
/// run's size or revision are left out: a running replica does without their new values.
public enum LaunchSignature {
    /// Variables that change with every revision (or with the run's size) and that a running replica does without.
    public static let runIdentity: Set<String> = [
        "INTERMESH_REVISION_HASH", "INTERMESH_REPLICA_COUNT", "INTERMESH_DATA_SHARDS", "INTERMESH_REPLICA_INDEX", "INTERMESH_DATA_SHARD",
    ]

    /// The digest of a site's spec inputs, shared by its replicas.
    static func siteDigest(everySite: [String], site: [String]) -> UInt64 {
        let digest = SHA256.hash(data: Data((everySite + ["--"] + site).joined(separator: "\n").utf8))
        return digest.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The replica's signature: its site's digest and its own placement, as 32 hex digits. Planned for every replica
    /// of a run (100,000 in the benchmark, within its 1 s budget), so the placement goes through a 64-bit FNV-1a
    /// hash byte by byte, with no string built and the environment combined without sorting.
    static func of(_ replica: ReplicaPlan, siteDigest: UInt64) -> String {
        var hash = FNV1a()
        hash.add(replica.host)
        for rank in replica.ranks {
            hash.add(rank.host)
            hash.add(rank.localRank)
        }
        hash.add(replica.ports.ring)
        hash.add(replica.ports.recovery)
        hash.add(replica.ports.rendezvous)
        hash.add(replica.ports.metrics)
        // Order-independent: the sum of each entry's own hash.
        var env: UInt64 = 0
        for (key, value) in replica.env where !runIdentity.contains(key) {
            var entry = FNV1a()
            entry.add(key)
            entry.add(value)
            env &+= entry.state
        }
        hash.add(Int(bitPattern: UInt(env)))
        hash.add(replica.command.count)
        for part in replica.command { hash.add(part) }
        return hex(siteDigest) + hex(hash.state)
    }

    static let digits = Array("0123456789abcdef".utf8)

    static func hex(_ value: UInt64) -> String {
        String(decoding: (0..<16).map { digits[Int((value >> (60 - 4 * UInt64($0))) & 0xf)] }, as: UTF8.self)
    }

    /// 64-bit FNV-1a: stable across processes and machines (Swift's `Hasher` is seeded per process).
    struct FNV1a {
        var state: UInt64 = 0xcbf2_9ce4_8422_2325

        mutating func byte(_ byte: UInt8) {
            state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }

        /// A string and a separator, so that ("ab", "c") and ("a", "bc") differ.
        mutating func add(_ text: String) {
            for byte in text.utf8 { self.byte(byte) }
            byte(0x1f)
        }

        mutating func add(_ number: Int) {
            var value = UInt64(bitPattern: Int64(number))
            for _ in 0..<8 {
                byte(UInt8(truncatingIfNeeded: value))
                value >>= 8
            }
        }
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
