import IntermeshSpec

/// What an engine needs beyond the generic replica: its command, its variables, its own files.
struct EngineAdapter: Sendable {
    /// Where a replica sits, for the adapter's variables.
    struct ReplicaInfo {
        var slot: String
        var globalIndex: Int
        var ranks: Int
        var ports: Ports
        /// Host and ring port of the run's first replica (PRIME's GLOBAL_ADDR / GLOBAL_PORT).
        var firstHost: String
        var firstPort: Int
        /// Replicas in the run (summed once per plan, not once per replica).
        var totalReplicas: Int
    }

    var kind: EngineSpec.Kind
    var membership: EngineSpec.Membership

    /// A variable exported at launch from values the agent provides: `value` goes between double quotes in the
    /// launch file, literal text (validated names and numbers) and `${NAME:-}` of agent-provided variables.
    struct RuntimeAlias: Equatable {
        var name: String
        var value: String
    }

    /// Variables exported from runtime values the agent provides: PRIME's GLOBAL_UNIQUE_ID from the member UUID;
    /// torchft's Lighthouse address and the replica id the Lighthouse reads run, slot and member from.
    func runtimeAliases(run: String, slot: String, globalIndex: Int) -> [RuntimeAlias] {
        var aliases: [RuntimeAlias] = []
        if kind == .prime { aliases.append(RuntimeAlias(name: "GLOBAL_UNIQUE_ID", value: "${INTERMESH_MEMBER_ID:-}")) }
        if membership == .torchft {
            aliases.append(RuntimeAlias(name: "TORCHFT_LIGHTHOUSE", value: "${INTERMESH_LIGHTHOUSE:-}"))
            aliases.append(RuntimeAlias(name: "TORCHFT_REPLICA_ID", value: "\(run)/\(slot)/${INTERMESH_MEMBER_ID:-}/\(globalIndex)"))
        }
        return aliases
    }

    /// Engine-specific files rendered into each replica's directory, by template name.
    var templates: [String] {
        kind == .prime ? ["engines/prime/config.toml"] : []
    }

    func command(_ run: TrainingRun, _ replica: ReplicaInfo) -> [String] {
        let engine = run.spec.engine
        let flags = engine.config.keys.sorted().flatMap { ["--\($0)", engine.config[$0] ?? ""] }
        switch kind {
        case .reference:
            return [engine.entrypoint, "--slot", replica.slot] + flags + engine.args
        case .prime:
            return torchrun(replica) + [engine.entrypoint, "@${INTERMESH_REPLICA_DIR}/config.toml"] + engine.args
        case .torchrun, .torchft:
            return torchrun(replica) + [engine.entrypoint] + flags + engine.args
        case .command:
            return [engine.entrypoint] + flags + engine.args
        }
    }

    private func torchrun(_ replica: ReplicaInfo) -> [String] {
        ["torchrun", "--nnodes=1", "--nproc_per_node=\(replica.ranks)", "--master_port=\(replica.ports.rendezvous)"]
    }

    func env(_ run: TrainingRun, _ replica: ReplicaInfo) -> [String: String] {
        let total = String(replica.totalReplicas)
        switch kind {
        case .reference:
            return [:]
        case .prime:
            return [
                "GLOBAL_ADDR": replica.firstHost, "GLOBAL_PORT": String(replica.firstPort),
                "GLOBAL_RANK": String(replica.globalIndex), "GLOBAL_WORLD_SIZE": total,
            ]
        case .torchrun, .torchft, .command:
            // torchft's conventions: the group's index and the number of groups; its ManagerServer on the ring port.
            var env = ["REPLICA_GROUP_ID": String(replica.globalIndex), "NUM_REPLICA_GROUPS": total]
            if membership == .torchft { env["TORCHFT_MANAGER_PORT"] = String(replica.ports.ring) }
            return env
        }
    }
}
