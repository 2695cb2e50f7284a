/// The engine that trains each replica, and how to start it.
public struct EngineSpec: SpecObject, Hashable, Codable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// intermesh-trainer, the built-in reference engine.
        case reference
        /// PRIME (INTELLECT-1's framework): torchrun plus the GLOBAL_* variables.
        case prime
        /// Any torchrun script.
        case torchrun
        /// Any program, started as it is (`entrypoint`, the `config` flags, `args`): one process per replica.
        case command
        /// A torchrun script whose replica groups coordinate through torchft (`torchft.Manager`): the control plane is
        /// their Lighthouse.
        case torchft
    }

    /// How the control plane learns who is alive, and what it can change without a restart.
    public enum Membership: String, Codable, Sendable, CaseIterable {
        /// The engine speaks Intermesh's protocol (`/v1` heartbeats and quorums): hot changes, coordinated activation.
        case native
        /// The engine's torchft Manager heartbeats and asks for quorums through the control plane's Lighthouse
        /// endpoint (torchft's gRPC protocol); quorums follow the run's fault policy. Training fields need a restart.
        case torchft
        /// The engine speaks nothing: its agent heartbeats for each process it supervises (alive while the process, or
        /// its Slurm job, runs). No quorum, no hot change: training fields need a restart.
        case process

        /// Whether members take hot changes at an activation step (only engines that speak the native protocol do).
        public var takesHotChanges: Bool { self == .native }
    }

    public var kind: Kind
    public var membership: Membership
    public var entrypoint: String
    public var args: [String]
    public var config: [String: String]
    public var workingDirectory: String?
    public var env: [String: String]
    /// Names of variables taken from the agent's environment at launch; their values are never stored.
    public var secretEnv: [String]

    public static let schema = ObjectSchema("engine", doc: "The training engine.", fields: [
        FieldSchema("kind", .enumeration(Kind.allCases.map(\.rawValue)), default: .string("reference"),
                    doc: "`reference` (intermesh-trainer), `prime` (torchrun + GLOBAL_* variables), `torchrun`, `command` (any program) or `torchft` (torchrun + torchft's variables)."),
        FieldSchema("membership", .enumeration(Membership.allCases.map(\.rawValue)),
                    default: .derived("`native` (reference), `torchft` (torchft), `process` (prime, torchrun, command)"),
                    doc: "How members are known: `native` (the engine speaks Intermesh's protocol), `torchft` (its torchft Manager uses the control plane as Lighthouse) or `process` (the agent heartbeats for each live process)."),
        FieldSchema("entrypoint", .string(.path), default: .derived("`intermesh-trainer` (reference), `src/zeroband/train.py` (prime); required for torchrun, command and torchft"),
                    doc: "Program (reference, command) or training script (prime, torchrun, torchft)."),
        FieldSchema("args", .list(.string(.text), minItems: 0), doc: "Extra arguments appended to the engine's command."),
        FieldSchema("config", .map(key: .labelKey, value: .string(.text)),
                    doc: "Engine settings: `--key value` flags (reference, torchrun, command, torchft) or entries of PRIME's config.toml."),
        FieldSchema("workingDirectory", .string(.path), doc: "Directory the engine starts in; the launch directory when absent."),
        FieldSchema("env", .map(key: .envName, value: .string(.text)), doc: "Environment of every rank. Values are written into launch files: no secrets."),
        FieldSchema("secretEnv", .list(.string(.envName), minItems: 0),
                    doc: "Variables passed through from the agent's environment at launch, never written into plans."),
    ])

    public init(from reader: ObjectReader) {
        kind = reader.enumeration("kind") ?? .reference
        let explicit = reader.string("entrypoint")
        switch kind {
        case .reference: entrypoint = explicit ?? "intermesh-trainer"
        case .prime: entrypoint = explicit ?? "src/zeroband/train.py"
        case .torchrun, .torchft, .command:
            if explicit == nil {
                reader.context.error("the \(kind.rawValue) engine needs 'entrypoint', the training script to run",
                                     at: reader.location, path: reader.fieldPath("entrypoint"))
            }
            entrypoint = explicit ?? ""
        }
        let membership = reader.enumeration("membership") ?? Self.defaultMembership(kind)
        if let problem = Self.problem(kind: kind, membership: membership) {
            reader.context.error(problem, at: reader.location, path: reader.fieldPath("membership"))
        }
        self.membership = membership
        args = reader.stringList("args")
        config = reader.stringMap("config")
        workingDirectory = reader.string("workingDirectory")
        env = reader.stringMap("env")
        secretEnv = reader.stringList("secretEnv")
    }
}

extension EngineSpec {
    enum CodingKeys: String, CodingKey {
        case kind, membership, entrypoint, args, config, workingDirectory, env, secretEnv
    }

    /// Reads canonical specs stored before `membership` existed as their engine's default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decode(Kind.self, forKey: .kind)
        membership = try container.decodeIfPresent(Membership.self, forKey: .membership) ?? Self.defaultMembership(kind)
        entrypoint = try container.decode(String.self, forKey: .entrypoint)
        args = try container.decode([String].self, forKey: .args)
        config = try container.decode([String: String].self, forKey: .config)
        workingDirectory = try container.decodeIfPresent(String.self, forKey: .workingDirectory)
        env = try container.decode([String: String].self, forKey: .env)
        secretEnv = try container.decode([String].self, forKey: .secretEnv)
    }

    static func defaultMembership(_ kind: Kind) -> Membership {
        switch kind {
        case .reference: .native
        case .torchft: .torchft
        case .prime, .torchrun, .command: .process
        }
    }

    /// Why an engine cannot be managed this way, if it cannot.
    static func problem(kind: Kind, membership: Membership) -> String? {
        switch (kind, membership) {
        case (.reference, .native), (.torchft, .torchft), (.torchrun, .torchft), (.prime, .process), (.torchrun, .process), (.torchft, .process),
             (.command, .process), (.command, .torchft):
            nil
        case (.reference, _):
            "the reference engine speaks Intermesh's protocol: its membership is 'native'"
        case (_, .native):
            "only the reference engine speaks Intermesh's protocol: use 'torchft' (a torchft Manager) or 'process'"
        case (.prime, .torchft):
            "PRIME as released does not use torchft's Manager: its membership is 'process'"
        default:
            "engine \(kind.rawValue) cannot use membership \(membership.rawValue)"
        }
    }
}
