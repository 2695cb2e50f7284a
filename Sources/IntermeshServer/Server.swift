import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import IntermeshAPI
import IntermeshStore
import IntermeshTLS
import Logging
import ServiceLifecycle

/// How `intermesh serve` runs.
public struct ServerConfiguration: Sendable {
    public var dataDirectory: URL
    public var host: String
    public var port: Int
    /// Where to write the first admin token (mode 0600), besides printing it once; for automation.
    public var adminTokenFile: String?
    /// Issue an admin token into `adminTokenFile` whenever that file is missing, not only on the first start: the
    /// process that embeds the control plane (`intermesh up`) is its own first client.
    public var embedded: Bool
    /// Where torchft's Lighthouse protocol (gRPC) is served, on `host`; 0 picks a free port, nil serves none.
    public var lighthousePort: Int?
    /// Requests a second each token may make (bursts of twice that); nil: no budget.
    public var tokenRate: Double?
    /// A connection that has not sent a complete request head this long after it opened, or after its last answer,
    /// is closed: idle keep-alive connections and headers sent a byte at a time cannot hold the file limit.
    public var requestHeadTimeout: Duration
    /// TLS for the API and the Lighthouse endpoint; nil serves plain HTTP and gRPC (loopback, or with an explicit flag).
    public var tls: ServerTLS?
    /// Serve the Lighthouse endpoint in plain gRPC even with `tls`: torchft's own client (0.2) speaks no TLS.
    public var lighthousePlaintext = false
    /// The store on PostgreSQL instead of SQLite in `dataDirectory`: several servers may share it, one active.
    public var postgres: PostgresLocation?
    /// On a shared store: how long the active server's lease lasts without renewal (a standby takes over after it).
    public var leaseTime: Duration = .seconds(10)
    /// On a shared store: the URL clients reach this server at (default: the scheme, listen host and port).
    public var advertise: String?

    public init(dataDirectory: URL, host: String = "127.0.0.1", port: Int = 7700, adminTokenFile: String? = nil, embedded: Bool = false,
                lighthousePort: Int? = nil, tokenRate: Double? = 1000, requestHeadTimeout: Duration = .seconds(75)) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.lighthousePort = lighthousePort
        self.tokenRate = tokenRate
        self.requestHeadTimeout = requestHeadTimeout
        tls = nil
        self.adminTokenFile = adminTokenFile
        self.embedded = embedded
    }
}

/// Builds the control plane in one place: the store chosen by configuration, the router, the application.
public enum Server {
    /// The store the configuration names: SQLite in the data directory (locked to this process), or PostgreSQL.
    public static func openStore(configuration: ServerConfiguration) async throws -> any Store {
        if let postgres = configuration.postgres { return try await PostgresStore(postgres) }
        return try SQLiteStore(directory: configuration.dataDirectory)
    }

    /// What `intermesh serve` and `intermesh up` both do before they listen: open the store (unless given), issue the
    /// first admin token, and give members stored before a restart (or a takeover) one heartbeat timeout to check in
    /// again. On a shared store the server holds `lease` by now. Returns the control plane and the admin token issued
    /// now (to be shown once), if any.
    public static func open(configuration: ServerConfiguration, store: (any Store)? = nil,
                            lease: ServerLease? = nil) async throws -> (plane: ControlPlane, adminToken: String?) {
        let store = if let store { store } else { try await openStore(configuration: configuration) }
        let token = try await bootstrapAdmin(store: store, configuration: configuration)
        let plane = ControlPlane(store: store, lease: lease)
        try await plane.members.restore(now: Date())
        return (plane, token)
    }

    /// On the first start (no token yet) issues an admin token and returns its text, to be shown once.
    static func bootstrapAdmin(store: any Store, configuration: ServerConfiguration) async throws -> String? {
        let missingFile = configuration.embedded && configuration.adminTokenFile.map { !FileManager.default.fileExists(atPath: $0) } ?? false
        guard try await store.tokenCount() == 0 || missingFile else { return nil }
        let issued = AccessToken.issue(role: .admin, run: nil, site: nil, description: "bootstrap admin", now: Date())
        try await store.saveToken(issued.record)
        if let file = configuration.adminTokenFile {
            FileManager.default.createFile(atPath: file, contents: Data((issued.text + "\n").utf8), attributes: [.posixPermissions: 0o600])
        }
        return issued.text
    }

    /// `secureCookies`: the console's session cookies are `Secure` (the server speaks TLS).
    public static func router(plane: ControlPlane, reconciliation: Reconciliation, board: QuorumBoard,
                              budget: RequestBudget? = nil, secureCookies: Bool = false) -> Router<ServerContext> {
        // Metrics bind to the factory bootstrapped when they are made: bootstrap before the first request.
        _ = ServerMetrics.registry
        let router = Router(context: ServerContext.self)
        router.add(middleware: MetricsMiddleware<ServerContext>())
        router.add(middleware: ErrorMiddleware<ServerContext>())
        if let lease = plane.lease { router.add(middleware: LeaseMiddleware(lease: lease)) }
        router.add(middleware: AuthMiddleware(store: plane.store, now: plane.now))
        if let budget { router.add(middleware: RequestBudgetMiddleware(budget: budget)) }
        API(plane: plane, reconciliation: reconciliation, board: board).register(on: router)
        Console(plane: plane, secure: secureCookies).register(on: router)
        return router
    }

    /// HTTP/1.1, over TLS when the configuration has it, with the idle and request-head timeout.
    static func httpServer(_ configuration: ServerConfiguration) throws -> HTTPServerBuilder {
        let http = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .milliseconds(Int64(configuration.requestHeadTimeout / .milliseconds(1)))))
        guard let tls = configuration.tls else { return http }
        return try .tls(http, tlsConfiguration: tls.configuration())
    }

    /// The HTTP server with the reconcile loop as a service beside it; both stop on SIGTERM or SIGINT.
    public static func application(configuration: ServerConfiguration, plane: ControlPlane, logger: Logger,
                                   onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        let reconciliation = Reconciliation(plane: plane)
        let board = QuorumBoard(now: plane.now)
        var services: [any Service] = [ReconcileService(reconciliation: reconciliation, logger: logger)]
        if let lease = plane.lease { services.append(LeaseService(lease: lease, logger: logger)) }
        if let port = configuration.lighthousePort {
            services.append(LighthouseEndpoint(host: configuration.host, port: port, tls: configuration.lighthousePlaintext ? nil : configuration.tls, logger: logger,
                                               service: LighthouseService(plane: plane, board: board, rounds: plane.torchftRounds)))
        }
        return Application(
            router: router(plane: plane, reconciliation: reconciliation, board: board, budget: configuration.tokenRate.map(RequestBudget.init),
                          secureCookies: configuration.tls != nil),
            server: try httpServer(configuration),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "intermesh",
                                 availableConnectionsDelegate: MaximumAvailableConnections(ConnectionLimit.raise().connections)),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }
}
