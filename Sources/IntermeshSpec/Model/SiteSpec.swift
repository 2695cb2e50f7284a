/// A place where replicas run: a cluster, a data centre, a group of donated nodes.
public struct SiteSpec: SpecObject, Hashable, Codable {
    public var name: String
    public var region: String?
    public var replicas: Int
    public var ranksPerReplica: Int
    public var gpu: GPUSpec
    public var bandwidth: Bandwidth
    public var launcher: LauncherSpec
    public var env: [String: String]
    /// Site-local inner learning rate (canary-able); the run's when absent.
    public var innerLr: Double?
    /// Site-local batch size; the run's when absent.
    public var batchSize: Int?

    public static let schema = ObjectSchema("site", doc: "A site and its replicas.", fields: [
        FieldSchema("name", .string(.dnsLabel), required: true, doc: "Unique site name, a DNS label."),
        FieldSchema("region", .string(.word), doc: "Free-form region, for display and placement (`us-east`)."),
        FieldSchema("replicas", .integer(min: 0, max: 1_000_000), default: .int(1), doc: "DiLoCo replicas at this site."),
        FieldSchema("ranksPerReplica", .integer(min: 1, max: 65536), default: .int(1),
                    doc: "Data-parallel ranks inside one replica (GPUs of a node, or MPI ranks)."),
        FieldSchema("gpu", .object(GPUSpec.schema), doc: "Accelerators of one replica."),
        FieldSchema("bandwidth", .bandwidth, default: .string("1Gbps"), doc: "The site's link to the other sites (`500Mbps`, `4Gbps`)."),
        FieldSchema("launcher", .object(LauncherSpec.schema), doc: "How the site's agent starts replicas."),
        FieldSchema("env", .map(key: .envName, value: .string(.text)), doc: "Extra environment for this site's ranks; overrides engine.env."),
        FieldSchema("innerLr", .number(min: 0, max: 10, exclusiveMinimum: true), doc: "Site-local inner learning rate (canary-able)."),
        FieldSchema("batchSize", .integer(min: 1, max: 100_000_000), doc: "Site-local batch size, sequences per replica per inner step."),
    ])

    public init(from reader: ObjectReader) {
        name = reader.string("name") ?? ""
        region = reader.string("region")
        replicas = reader.int("replicas") ?? 1
        ranksPerReplica = reader.int("ranksPerReplica") ?? 1
        var gpu: GPUSpec = reader.object("gpu")
        if gpu.count == 0 { gpu.count = ranksPerReplica }
        self.gpu = gpu
        bandwidth = reader.bandwidth("bandwidth") ?? Bandwidth(bitsPerSecond: 1e9)
        launcher = reader.object("launcher")
        env = reader.stringMap("env")
        innerLr = reader.double("innerLr")
        batchSize = reader.int("batchSize")
    }
}

/// The accelerators of one replica.
public struct GPUSpec: SpecObject, Hashable, Codable {
    public var kind: String
    public var count: Int
    /// Peak dense bf16 TFLOP/s of one device; from the built-in table when absent.
    public var peakTFLOPS: Double?

    public static let schema = ObjectSchema("gpu", doc: "Accelerators of one replica.", fields: [
        FieldSchema("kind", .string(.word), default: .string("cpu"),
                    doc: "Device kind for the estimate: \(GPUCatalog.known.map { "`\($0.name)`" }.joined(separator: ", "))."),
        FieldSchema("count", .integer(min: 1, max: 65536), default: .derived("ranksPerReplica"), doc: "Devices per replica."),
        FieldSchema("peakTFLOPS", .number(min: 0, max: 1e6, exclusiveMinimum: true),
                    doc: "Peak dense TFLOP/s of one device; overrides the built-in table, required for unknown kinds."),
    ])

    public init(from reader: ObjectReader) {
        kind = reader.string("kind") ?? "cpu"
        count = reader.int("count") ?? 0
        peakTFLOPS = reader.double("peakTFLOPS")
    }

    /// Peak FLOP/s of one device, from the spec or the catalog.
    public var peakFLOPS: Double? {
        if let peakTFLOPS { return peakTFLOPS * 1e12 }
        return GPUCatalog.lookup(kind).map { $0.tflops * 1e12 }
    }
}

/// Peak dense bf16 throughput of common devices (vendor datasheets, without sparsity).
public enum GPUCatalog {
    public struct Entry: Sendable {
        public var name: String
        public var tflops: Double
    }

    public static let known: [Entry] = [
        Entry(name: "B200", tflops: 2250), Entry(name: "H200", tflops: 989), Entry(name: "H100", tflops: 989),
        Entry(name: "H100-PCIe", tflops: 756), Entry(name: "A100", tflops: 312), Entry(name: "L40S", tflops: 362),
        Entry(name: "A10G", tflops: 125), Entry(name: "RTX4090", tflops: 165), Entry(name: "V100", tflops: 125),
        Entry(name: "MI300X", tflops: 1307), Entry(name: "TPUv5e", tflops: 197),
        // One CPU core running the reference engine's fp32 kernels.
        Entry(name: "cpu", tflops: 0.05),
    ]

    public static func lookup(_ kind: String) -> Entry? {
        known.first { $0.name.lowercased() == kind.lowercased() }
    }
}

/// How a site's agent starts a replica.
public struct LauncherSpec: SpecObject, Hashable, Codable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case local
        case mpirun
        case slurm
        case ssh
    }

    public var kind: Kind
    public var hosts: [String]
    public var slotsPerHost: Int?
    public var user: String?
    public var port: Int?
    public var identityFile: String?
    public var partition: String?
    public var account: String?
    public var timeLimit: DurationValue?
    public var extraArgs: [String]

    /// Fields that only some launchers use, so a misplaced one is reported.
    static let onlyFor: [String: Set<Kind>] = [
        "hosts": [.local, .mpirun, .ssh], "slotsPerHost": [.mpirun], "user": [.ssh], "port": [.ssh], "identityFile": [.ssh],
        "partition": [.slurm], "account": [.slurm], "timeLimit": [.slurm], "extraArgs": [.mpirun, .slurm, .ssh],
    ]

    public static let schema = ObjectSchema("launcher", doc: "How replicas are started.", fields: [
        FieldSchema("kind", .enumeration(Kind.allCases.map(\.rawValue)), default: .string("local"),
                    doc: "`local` (a process per replica), `mpirun` (an MPI job per replica), `slurm` (an sbatch job per replica) or `ssh`."),
        FieldSchema("hosts", .list(.string(.hostname), minItems: 0), doc: "Hosts for `mpirun` and `ssh`; replicas are placed round-robin. For `local`: addresses of this machine its replicas listen on and peers reach them at (default localhost)."),
        FieldSchema("slotsPerHost", .integer(min: 1, max: 65536), default: .derived("ranksPerReplica"), doc: "`mpirun`: ranks per host."),
        FieldSchema("user", .string(.word), doc: "`ssh`: remote user."),
        FieldSchema("port", .integer(min: 1, max: 65535), default: .derived("22"), doc: "`ssh`: remote port."),
        FieldSchema("identityFile", .string(.path), doc: "`ssh`: private key file."),
        FieldSchema("partition", .string(.word), doc: "`slurm`: partition."),
        FieldSchema("account", .string(.word), doc: "`slurm`: account."),
        FieldSchema("timeLimit", .duration, doc: "`slurm`: wall-time limit of each job."),
        FieldSchema("extraArgs", .list(.string(.text), minItems: 0), doc: "Extra arguments for mpirun, sbatch or ssh."),
    ])

    public init(from reader: ObjectReader) {
        kind = reader.enumeration("kind") ?? .local
        hosts = reader.stringList("hosts")
        slotsPerHost = reader.int("slotsPerHost")
        user = reader.string("user")
        port = reader.int("port")
        identityFile = reader.string("identityFile")
        partition = reader.string("partition")
        account = reader.string("account")
        timeLimit = reader.duration("timeLimit")
        extraArgs = reader.stringList("extraArgs")
        for (field, kinds) in Self.onlyFor.sorted(by: { $0.key < $1.key }) where reader.has(field) && !kinds.contains(kind) {
            let users = kinds.map(\.rawValue).sorted().joined(separator: " and ")
            reader.context.report(.warning("'\(field)' is ignored by the \(kind.rawValue) launcher (it applies to \(users))",
                                           at: reader.context.location(of: reader.fieldPath(field)), path: reader.fieldPath(field)))
        }
    }
}
