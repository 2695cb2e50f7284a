import Foundation
import IntermeshStore
import Logging
import ServiceLifecycle
import Synchronization

/// The active server's lease on a shared (PostgreSQL) store, as this process holds it.
///
/// The store's row decides who is active, by the database's clock, and fences every write. This side keeps a local
/// deadline too, counted from before each renewal was sent (so it ends no later than the row does): past it the server
/// answers nothing from memory either (a quorum, a heartbeat), so a server paused past its lease and resumed cannot
/// decide a quorum that the next active server decides differently. It then exits.
public final class ServerLease: Sendable {
    public let store: PostgresStore
    public let holder: String
    /// Where clients reach this server.
    public let address: String
    public let ttl: Duration
    public let epoch: Int
    let deadline: Mutex<ContinuousClock.Instant>

    init(store: PostgresStore, holder: String, address: String, ttl: Duration, epoch: Int, deadline: ContinuousClock.Instant) {
        self.store = store
        self.holder = holder
        self.address = address
        self.ttl = ttl
        self.epoch = epoch
        self.deadline = Mutex(deadline)
    }

    /// True until the lease's local deadline: this server may answer.
    public var isHeld: Bool { ContinuousClock.now < deadline.withLock { $0 } }

    /// Takes the store's lease once it is free; until then `waiting` hears who holds it (each time it is looked at).
    public static func acquire(store: PostgresStore, address: String, ttl: Duration, poll: Duration,
                               waiting: @Sendable (StoreLease) async -> Void) async throws -> ServerLease {
        let holder = UUID().uuidString.lowercased()
        while true {
            try Task.checkCancellation()
            let sent = ContinuousClock.now
            do {
                if let epoch = try await store.acquireLease(holder: holder, address: address, ttl: ttl) {
                    store.fence(holder: holder, epoch: epoch)
                    return ServerLease(store: store, holder: holder, address: address, ttl: ttl, epoch: epoch, deadline: sent + margin(ttl))
                }
                await waiting(try await store.currentLease())
            } catch let error as StoreError {
                // The database is away: a standby keeps waiting for it.
                await waiting(StoreLease(holder: "", address: "unknown (\(error.message))", epoch: 0, remaining: 0))
            }
            try await Task.sleep(for: poll)
        }
    }

    /// The part of the lease this side counts on: a little less than the database grants, for the time a renewal
    /// takes to reach it.
    static func margin(_ ttl: Duration) -> Duration {
        ttl - min(.milliseconds(500), ttl / 10)
    }

    /// Renews the lease at once (the server took time to start since it was taken), then every third of its time.
    /// Returns when it is lost (not renewed before the local deadline, or taken over): the caller stops serving at once.
    func keep(logger: Logger) async {
        var first = true
        while !Task.isCancelled {
            if !first { try? await Task.sleep(for: ttl / 3) }
            first = false
            if Task.isCancelled { return }
            let sent = ContinuousClock.now
            do {
                guard try await store.renewLease(holder: holder, epoch: epoch, ttl: ttl) else {
                    let now = try? await store.currentLease()
                    let taken = now.map { $0.epoch != epoch ? "taken over by \($0.address) (epoch \($0.epoch))" : "expired before it was renewed" }
                    logger.critical("the store's lease (epoch \(epoch)) was \(taken ?? "lost")")
                    return
                }
                deadline.withLock { $0 = sent + Self.margin(ttl) }
            } catch {
                logger.error("renewing the store's lease failed: \(error)")
            }
            if !isHeld {
                logger.critical("the store's lease (epoch \(epoch)) ended before it could be renewed")
                return
            }
        }
    }

    /// Ends the lease now, so that a standby takes over without waiting for it to run out.
    func release() async {
        deadline.withLock { $0 = .now }
        try? await store.releaseLease(holder: holder, epoch: epoch)
    }
}

/// Keeps the lease while the server runs; a lost lease ends the process (crash-only: the in-memory state of a server
/// that is not active any more is never served again), a shutdown releases it.
struct LeaseService: Service {
    let lease: ServerLease
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await lease.keep(logger: logger)
        }
        if Task.isCancelled || Task.isShuttingDownGracefully {
            await lease.release()
            return
        }
        logger.critical("this server is not active any more: exiting")
        exit(75)
    }
}
