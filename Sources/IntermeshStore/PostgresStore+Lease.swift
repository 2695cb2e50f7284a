import Foundation
import PostgresNIO

/// Who holds the store's lease, as the lease row says.
public struct StoreLease: Sendable, Equatable {
    /// The holding server's own id (random per process).
    public var holder: String
    /// Where clients reach the holder (its advertised URL).
    public var address: String
    /// Raised by every takeover: a write fenced with an older epoch is refused.
    public var epoch: Int
    /// Seconds until it ends, by the database's clock; 0 or less: it has ended and the next server may take it.
    public var remaining: Double

    public init(holder: String, address: String, epoch: Int, remaining: Double) {
        self.holder = holder
        self.address = address
        self.epoch = epoch
        self.remaining = remaining
    }
}

/// The active server's lease: one row, its expiry on the database's clock (no server's clock decides who is active).
/// Taken only once expired (or released), renewed by its holder, and checked by every fenced write.
///
/// The row locks are chosen so that renewals never wait for writes and writes never wait for renewals, while a takeover
/// waits for every write in flight: a write holds `FOR KEY SHARE` on the row; a renewal changes only the expiry (a
/// `FOR NO KEY UPDATE` lock, compatible with it); a takeover locks the row `FOR UPDATE` (which is not) before it
/// changes the holder. The lease's statements run on a connection of their own.
extension PostgresStore {
    static let leaseMigration = """
        CREATE TABLE intermesh_lease (
            one INTEGER PRIMARY KEY CHECK (one = 1), holder TEXT NOT NULL, address TEXT NOT NULL, epoch BIGINT NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL);
        INSERT INTO intermesh_lease VALUES (1, '', '', 0, 'epoch')
        """

    /// Takes the lease for `ttl` when it is free (expired or released): the new epoch, else nil (another server holds it).
    public func acquireLease(holder: String, address: String, ttl: Duration) async throws -> Int? {
        let logger = self.logger
        let seconds = Self.seconds(ttl)
        return try await leaseStatement { client in
            try await client.withTransaction(logger: logger) { connection in
                // Waits for the writes in flight under the old lease: they commit before the new holder's first.
                _ = try await Self.count(try await connection.query("SELECT 1 FROM intermesh_lease WHERE one = 1 FOR UPDATE", logger: logger))
                var epoch: Int?
                for try await value in try await connection.query("""
                    UPDATE intermesh_lease SET holder = \(holder), address = \(address), epoch = epoch + 1,
                        expires_at = clock_timestamp() + make_interval(secs => \(seconds))
                    WHERE one = 1 AND expires_at <= clock_timestamp() RETURNING epoch
                    """, logger: logger).decode(Int.self) {
                    epoch = value
                }
                return epoch
            }
        }
    }

    /// Extends the lease by `ttl` from now, if it is still this holder's and unexpired; false: it was lost.
    public func renewLease(holder: String, epoch: Int, ttl: Duration) async throws -> Bool {
        let logger = self.logger
        let seconds = Self.seconds(ttl)
        return try await leaseStatement { client in
            try await Self.count(try await client.query("""
                UPDATE intermesh_lease SET expires_at = clock_timestamp() + make_interval(secs => \(seconds))
                WHERE one = 1 AND holder = \(holder) AND epoch = \(epoch) AND expires_at > clock_timestamp() RETURNING 1
                """, logger: logger)) > 0
        }
    }

    /// Ends the lease now (a server shutting down), so a standby takes over without waiting for it to expire.
    public func releaseLease(holder: String, epoch: Int) async throws {
        let logger = self.logger
        try await leaseStatement { client in
            try await client.query("""
                UPDATE intermesh_lease SET expires_at = clock_timestamp() WHERE one = 1 AND holder = \(holder) AND epoch = \(epoch)
                """, logger: logger)
        }
    }

    /// The lease row now.
    public func currentLease() async throws -> StoreLease {
        let logger = self.logger
        return try await leaseStatement { client in
            var lease = StoreLease(holder: "", address: "", epoch: 0, remaining: 0)
            for try await (holder, address, epoch, remaining) in try await client.query("""
                SELECT holder, address, epoch, EXTRACT(EPOCH FROM expires_at - clock_timestamp())::DOUBLE PRECISION FROM intermesh_lease WHERE one = 1
                """, logger: logger).decode((String, String, Int, Double).self) {
                lease = StoreLease(holder: holder, address: address, epoch: epoch, remaining: remaining)
            }
            return lease
        }
    }

    /// From now on every write checks this lease first, and fails with `.fenced` once it is not this holder's any more.
    public func fence(holder: String, epoch: Int) {
        fenceLease.withLock { $0 = (holder, epoch) }
    }

    /// Inside a write transaction: the lease is still ours. The key-share lock holds off a takeover until this commits, so
    /// a write that passed the check lands before the next server's first, and one that did not changes nothing.
    static func checkLease(_ connection: PostgresConnection, holder: String, epoch: Int, logger: Logger) async throws {
        let held = try await count(try await connection.query("""
            SELECT 1 FROM intermesh_lease WHERE one = 1 AND holder = \(holder) AND epoch = \(epoch) AND expires_at > clock_timestamp() FOR KEY SHARE
            """, logger: logger))
        guard held > 0 else {
            throw StoreError(code: .fenced, message: "this server's lease on the store ended (epoch \(epoch)): another server may be active")
        }
    }

    /// Runs a lease statement on the lease's own connection, its errors as the store's.
    func leaseStatement<T: Sendable>(_ body: (PostgresClient) async throws -> T) async throws -> T {
        do {
            return try await body(leaseClient)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: .io, message: "the store: \(Self.describe(error))")
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
