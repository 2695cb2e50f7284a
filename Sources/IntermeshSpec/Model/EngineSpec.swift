/// The engine that trains each replica, and how to start it.
public struct EngineSpec: SpecObject, Hashable, Codable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// intermesh-trainer, the built-in reference engine.
        case reference
        /// PRIME (INTELLECT-1's framework): torchrun plus the GLOBAL_* variables.
        case prime
        /// Any torchrun script; torchft variables are provided.
        case torchrun
    }

    public var kind: Kind
    public var entrypoint: String
    public var args: [String]
    public var config: [String: String]
    public var workingDirectory: String?
    public var env: [String: String]
    /// Names of variables taken from the agent's environment at launch; their values are never stored.
    public var secretEnv: [String]

    public static let schema = ObjectSchema("engine", doc: "The training engine.", fields: [
        FieldSchema("kind", .enumeration(Kind.allCases.map(\.rawValue)), default: .string("reference"),
                    doc: "`reference` (intermesh-trainer), `prime` (torchrun + GLOBAL_* variables) or `torchrun`."),
        FieldSchema("entrypoint", .string(.path), default: .derived("`intermesh-trainer` (reference), `src/zeroband/train.py` (prime); required for torchrun"),
                    doc: "Program (reference) or training script (prime, torchrun)."),
        FieldSchema("args", .list(.string(.text), minItems: 0), doc: "Extra arguments appended to the engine's command."),
        FieldSchema("config", .map(key: .labelKey, value: .string(.text)),
                    doc: "Engine settings: `--key value` flags (reference, torchrun) or entries of PRIME's config.toml."),
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
        case .torchrun:
            if explicit == nil {
                reader.context.error("the torchrun engine needs 'entrypoint', the training script to run",
                                     at: reader.location, path: reader.fieldPath("entrypoint"))
            }
            entrypoint = explicit ?? ""
        }
        args = reader.stringList("args")
        config = reader.stringMap("config")
        workingDirectory = reader.string("workingDirectory")
        env = reader.stringMap("env")
        secretEnv = reader.stringList("secretEnv")
    }
}
