import Foundation
import IntermeshAPI
import IntermeshStore
import Logging
import ServiceLifecycle

extension Server {
    /// What a server on a shared store does before it serves: listen as a standby (answering who is active) until it
    /// takes the store's lease, then stop listening. Returns the lease and the port it listened on, where the active
    /// server listens next. `standby` is told, once, that another server is active and where. Throws
    /// `CancellationError` when the standby was stopped (SIGTERM, SIGINT) before it became active.
    public static func takeLease(configuration: ServerConfiguration, store: PostgresStore, logger: Logger,
                                 standby: @escaping @Sendable (_ port: Int, _ active: String) async -> Void) async throws -> (lease: ServerLease, port: Int) {
        let seen = StandbyServer.Seen()
        let (bound, listening) = AsyncStream<Int>.makeStream()
        let app = try StandbyServer.application(configuration: configuration, store: store, seen: seen, logger: logger) { port in
            listening.yield(port)
        }
        // Stopped gracefully once the lease is taken (so the port is free for the active server), or by a signal.
        let services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        return try await withThrowingTaskGroup(of: (ServerLease, Int)?.self) { group in
            group.addTask {
                defer { listening.finish() }
                try await services.run()
                return nil
            }
            group.addTask {
                var ports = bound.makeAsyncIterator()
                guard let port = await ports.next() else { throw CancellationError() }
                let address = configuration.advertise ?? "\(configuration.tls == nil ? "http" : "https")://\(advertisedHost(configuration.host)):\(port)"
                seen.address.withLock { $0 = address }
                let told = Told()
                let poll = min(Duration.seconds(1), configuration.leaseTime / 4)
                let lease = try await ServerLease.acquire(store: store, address: address, ttl: configuration.leaseTime, poll: poll) { row in
                    seen.update(row)
                    if row.remaining > 0, !row.address.isEmpty, await told.first() { await standby(port, row.address) }
                }
                return (lease, port)
            }
            // The first to finish decides: the lease taken, or the standby stopped by a signal.
            let first = try await group.next() ?? nil
            if first == nil { group.cancelAll() } else { await services.triggerGracefulShutdown() }
            while try await group.next() != nil {}
            guard let first else { throw CancellationError() }
            return first
        }
    }

    /// A wildcard listen address is no address to give clients: this machine's name is.
    static func advertisedHost(_ host: String) -> String {
        host == "0.0.0.0" || host == "::" || host.isEmpty ? ProcessInfo.processInfo.hostName : host
    }
}

/// Says one thing once.
private actor Told {
    var done = false
    func first() -> Bool {
        defer { done = true }
        return !done
    }
}
