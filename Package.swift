// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Intermesh",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "intermesh", targets: ["intermesh"]),
        .executable(name: "intermesh-bench", targets: ["intermesh-bench"]),
        .executable(name: "intermesh-trainer", targets: ["intermesh-trainer"]),
        .executable(name: "intermesh-fuzz", targets: ["intermesh-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/onevcat/Rainbow.git", from: "4.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // The run-spec language: units, model types, YAML loading, validation, canonical form, schema.
        .target(
            name: "IntermeshSpec",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The wire protocol of /v1: every request and answer as Codable types, the paths, the JSON coding. Foundation only:
        // the server, the client, the agent, the CLI, the bench and the engine all speak it from here.
        .target(name: "IntermeshAPI"),
        // The control plane's pure logic: the reconciler, the quorum room, restart lease, rollouts. No I/O.
        .target(name: "IntermeshControl", dependencies: ["IntermeshAPI", "IntermeshSpec", "IntermeshPlan"]),
        // The control plane's storage: runs, immutable revisions, members, events, tokens (SQLite by default, PostgreSQL
        // for control planes on several machines).
        .target(
            name: "IntermeshStore",
            dependencies: [
                "IntermeshAPI", "IntermeshSpec", "IntermeshControl",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // TLS: a private certificate authority for a run's sites, and the server and client configurations.
        .target(
            name: "IntermeshTLS",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The web console's page, script and style sheet, compiled into the binary.
        .target(
            name: "IntermeshConsole",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            resources: [.embedInCode("Assets/index.html"), .embedInCode("Assets/console.js"), .embedInCode("Assets/console.css")]
        ),
        // The control plane's HTTP API (`intermesh serve`).
        .target(
            name: "IntermeshServer",
            dependencies: [
                "IntermeshConsole", "IntermeshAPI", "IntermeshSpec", "IntermeshPlan", "IntermeshControl", "IntermeshStore", "IntermeshLighthouse", "IntermeshTLS",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // torchft's Lighthouse protocol (gRPC): the messages and the service, generated once from Proto/lighthouse.proto
        // by `scripts/generate-proto.sh` and committed. The control plane serves it; the bench's load generator calls it.
        .target(
            name: "IntermeshLighthouse",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Proto"]
        ),
        // The API client: the commands, the agents, the bench and the engine's managed mode call /v1 through it.
        .target(
            name: "IntermeshClient",
            dependencies: [
                "IntermeshAPI", "IntermeshTLS", "CCurl",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // libcurl carries the reference engine's calls to the control plane, TLS included (Debian: libcurl4-openssl-dev).
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // Site agents: launch, supervise, adopt and stop a site's replicas as the control plane directs.
        .target(
            name: "IntermeshAgent",
            dependencies: [
                "IntermeshAPI", "IntermeshSpec", "IntermeshPlan", "IntermeshClient", "IntermeshTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The plan compiler: replicas, ranks, ports, shards, estimate, rendered launch files.
        .target(
            name: "IntermeshPlan",
            dependencies: [
                "IntermeshSpec",
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The command line: subcommands and their output.
        .target(
            name: "IntermeshCLI",
            dependencies: [
                "IntermeshAPI",
                "IntermeshSpec",
                "IntermeshPlan",
                "IntermeshServer",
                "IntermeshClient",
                "IntermeshAgent",
                "IntermeshTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Rainbow", package: "Rainbow"),
            ]
        ),
        // OpenBLAS and Open MPI for the reference engine (Debian: libopenblas-dev, libopenmpi-dev).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        // zlib entropy-codes the int8 codes of the outer all-reduce (Debian: zlib1g-dev).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The reference engine: a byte-level model, DiLoCo inner and outer loops, int8 ring all-reduce,
        // membership, live recovery and checkpoints. The orchestrator's modules never depend on it.
        .target(
            name: "IntermeshTrainer",
            dependencies: [
                "CBLAS", "CMPI", "CZlib", "IntermeshAPI", "IntermeshSpec", "IntermeshPlan", "IntermeshControl", "IntermeshClient",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(name: "intermesh", dependencies: ["IntermeshCLI"]),
        .executableTarget(
            name: "intermesh-trainer",
            dependencies: ["IntermeshTrainer", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "intermesh-bench",
            dependencies: [
                "IntermeshAPI", "IntermeshSpec", "IntermeshPlan", "IntermeshTrainer", "IntermeshControl", "IntermeshClient", "IntermeshLighthouse",
                "IntermeshTLS", "TestServices",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ]
        ),
        // Fuzz targets (the spec loader, the API's body decoders) and their driver; scripts/fuzz.sh builds it with libFuzzer.
        .target(name: "IntermeshFuzzing", dependencies: ["IntermeshSpec", "IntermeshPlan", "IntermeshAPI"]),
        .target(name: "CFuzzer"),
        .executableTarget(name: "intermesh-fuzz", dependencies: ["IntermeshFuzzing", "CFuzzer"]),
        // Golden files for the tests that compare rendered output (plans, diffs, CLI output).
        .target(name: "GoldenFiles", path: "Tests/GoldenFiles"),
        // Services the tests start for themselves: a private PostgreSQL cluster.
        .target(name: "TestServices", dependencies: ["IntermeshTLS"], path: "Tests/TestServices"),
        .testTarget(name: "IntermeshAPITests", dependencies: ["IntermeshAPI"]),
        .testTarget(name: "IntermeshSpecTests", dependencies: ["IntermeshSpec"]),
        .testTarget(name: "IntermeshFuzzingTests", dependencies: ["IntermeshFuzzing"]),
        .testTarget(name: "IntermeshPlanTests", dependencies: ["IntermeshPlan", "GoldenFiles"]),
        .testTarget(name: "IntermeshCLITests", dependencies: ["IntermeshCLI", "IntermeshAPI", "GoldenFiles"]),
        .testTarget(name: "IntermeshTrainerTests", dependencies: ["IntermeshTrainer", "IntermeshAPI"]),
        .testTarget(name: "IntermeshControlTests", dependencies: ["IntermeshControl", "IntermeshAPI"]),
        .testTarget(name: "IntermeshStoreTests", dependencies: ["IntermeshStore", "IntermeshAPI", "TestServices"]),
        .testTarget(
            name: "IntermeshServerTests",
            dependencies: [
                "IntermeshServer", "IntermeshClient", "IntermeshAPI", "IntermeshLighthouse", "IntermeshStore", "IntermeshControl", "IntermeshTLS",
                "TestServices",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(name: "IntermeshAgentTests", dependencies: [
            "IntermeshAgent", "IntermeshClient", "IntermeshAPI", "IntermeshSpec", "IntermeshTrainer", "IntermeshTLS", "TestServices",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        ]),
    ]
)
