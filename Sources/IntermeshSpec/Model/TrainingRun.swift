/// A whole run spec document: `apiVersion: intermesh/v1`, `kind: TrainingRun`, metadata and spec.
public struct TrainingRun: SpecObject, Hashable, Codable {
    public static let apiVersion = "intermesh/v1"
    public static let kind = "TrainingRun"

    public var apiVersion: String
    public var kind: String
    public var metadata: Metadata
    public var spec: RunSpec

    public static let schema = ObjectSchema("TrainingRun", doc: "A decentralized DiLoCo training run.", fields: [
        FieldSchema("apiVersion", .enumeration([apiVersion]), required: true, doc: "Always `intermesh/v1`."),
        FieldSchema("kind", .enumeration([kind]), required: true, doc: "Always `TrainingRun`."),
        FieldSchema("metadata", .object(Metadata.schema), required: true, doc: "The run's name and labels."),
        FieldSchema("spec", .object(RunSpec.schema), required: true, doc: "What to train, where, and how to keep it running."),
    ])

    public init(from reader: ObjectReader) {
        apiVersion = reader.string("apiVersion") ?? Self.apiVersion
        kind = reader.string("kind") ?? Self.kind
        metadata = reader.object("metadata")
        spec = reader.object("spec")
    }
}

/// The run's identity. The name is immutable for the life of a run.
public struct Metadata: SpecObject, Hashable, Codable {
    public var name: String
    public var labels: [String: String]

    public static let schema = ObjectSchema("metadata", doc: "The run's identity.", fields: [
        FieldSchema("name", .string(.dnsLabel), required: true,
                    doc: "The run's name, a DNS label; it names directories, URLs and processes. Immutable."),
        FieldSchema("labels", .map(key: .labelKey, value: .string(.text)), doc: "Free-form key/value labels for selection."),
    ])

    public init(from reader: ObjectReader) {
        name = reader.string("name") ?? ""
        labels = reader.stringMap("labels")
    }
}

/// Everything under `spec:`.
public struct RunSpec: SpecObject, Hashable, Codable {
    public var engine: EngineSpec
    public var model: ModelSpec
    public var data: DataSpec
    public var training: TrainingSpec
    public var network: NetworkSpec
    public var sites: [SiteSpec]
    public var faultPolicy: FaultPolicy
    public var rollout: RolloutSpec
    public var estimate: EstimateSpec

    public static let schema = ObjectSchema("spec", doc: "The run's desired state.", fields: [
        FieldSchema("engine", .object(EngineSpec.schema), doc: "The training engine and how to start it."),
        FieldSchema("model", .object(ModelSpec.schema), required: true, doc: "Model architecture; the parameter count is derived."),
        FieldSchema("data", .object(DataSpec.schema), required: true, doc: "Data sources and their mix."),
        FieldSchema("training", .object(TrainingSpec.schema), doc: "Inner and outer optimization (DiLoCo)."),
        FieldSchema("network", .object(NetworkSpec.schema), doc: "Ports the replicas listen on."),
        FieldSchema("sites", .list(.object(SiteSpec.schema), minItems: 1), required: true, doc: "Where replicas run."),
        FieldSchema("faultPolicy", .object(FaultPolicy.schema), doc: "Heartbeats, quorum and restarts."),
        FieldSchema("rollout", .object(RolloutSpec.schema), doc: "How mid-run changes are activated."),
        FieldSchema("estimate", .object(EstimateSpec.schema), doc: "Assumptions of the plan's time estimate."),
    ])

    public init(from reader: ObjectReader) {
        engine = reader.object("engine")
        model = reader.object("model")
        data = reader.object("data")
        training = reader.object("training")
        network = reader.object("network")
        sites = reader.list("sites")
        faultPolicy = reader.object("faultPolicy")
        rollout = reader.object("rollout")
        estimate = reader.object("estimate")
    }

    /// Replicas over all sites.
    public var totalReplicas: Int { sites.reduce(0) { $0 + $1.replicas } }
}

/// Where replica ports start. Each replica takes a block of `NetworkSpec.portsPerReplica` ports on its host.
public struct NetworkSpec: SpecObject, Hashable, Codable {
    public static let portsPerReplica = 4

    public var basePort: Int

    public static let schema = ObjectSchema("network", doc: "Ports of the outer ring, live recovery and rank rendezvous.", fields: [
        FieldSchema("basePort", .integer(min: 1024, max: 65000), default: .int(29500),
                    doc: "First port; replica k on a host uses basePort + 4k (ring), +1 (recovery), +2 (rank rendezvous), +3 (metrics). A Slurm job's node is known only when it runs, so its replica takes a block no replica on any other host uses."),
    ])

    public init(from reader: ObjectReader) {
        basePort = reader.int("basePort") ?? 29500
    }
}
