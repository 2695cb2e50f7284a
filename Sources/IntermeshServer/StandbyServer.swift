import Foundation
import Hummingbird
import IntermeshAPI
import IntermeshStore
import Logging
import Synchronization

/// A server waiting for the shared store's lease. It listens where it will serve once active, answers `GET /v1/server`
/// and, to everything else, 503 naming the active server (clients given several servers follow it). It holds no control
/// plane state: when it takes the lease it stops, and the active server is built from the store like any restart.
public enum StandbyServer {
    /// The lease as last seen, shared between the waiting loop and the requests.
    public final class Seen: Sendable {
        let lease = Mutex<StoreLease?>(nil)
        /// This server's own address, once it listens.
        let address = Mutex<String?>(nil)
        public init() {}
        public func update(_ lease: StoreLease) { self.lease.withLock { $0 = lease } }
        var current: StoreLease? { lease.withLock { $0 } }
    }

    public static func application(configuration: ServerConfiguration, store: any Store, seen: Seen, logger: Logger,
                                   onServerRunning: @escaping @Sendable (Int) async -> Void) throws -> some ApplicationProtocol {
        let router = Router(context: ServerContext.self)
        router.add(middleware: ErrorMiddleware<ServerContext>())
        router.add(middleware: AuthMiddleware(store: store, now: Date.init))
        router.add(middleware: StandbyMiddleware(seen: seen))
        return Application(
            router: router, server: try Server.httpServer(configuration),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "intermesh"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }
}

/// Answers every request of a standby.
struct StandbyMiddleware: RouterMiddleware {
    let seen: StandbyServer.Seen

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        let lease = seen.current.flatMap { $0.remaining > 0 && !$0.address.isEmpty ? $0 : nil }
        if request.uri.path == "/v1/server", request.method == .get {
            _ = try context.requireReader()
            return try JSONBody.response(ServerInfo(role: .standby, address: seen.address.withLock { $0 }, active: lease?.address, epoch: lease?.epoch,
                                                    leaseRemaining: lease?.remaining))
        }
        let message = lease.map { "this server is a standby: the active server is \($0.address)" }
            ?? "this server is a standby and no server holds the store's lease yet: try again shortly"
        var error = APIError(.serviceUnavailable, "standby", message, active: lease?.address)
        error.headers[.retryAfter] = "1"
        throw error
    }
}
