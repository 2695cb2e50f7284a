import Foundation
import IntermeshAPI
import IntermeshControl
import Logging
import PostgresNIO
import Synchronization

/// The store on PostgreSQL, for control planes that outlive their machine: the same tables, migrations and
/// transactions as `SQLiteStore`. A revision and its rollout commit together; event ids are contiguous and in commit
/// order (one counter row, locked by every transaction that appends events); tokens are salted hashes.
///
/// Several servers may open it; one of them is active: it holds the lease row (`PostgresStore+Lease`), and once it
/// has `fence`d the store with that lease, every write transaction first checks, under a share lock of the row, that
/// the lease is still its own and unexpired by the database's clock. A server that lost its lease (paused past it,
/// cut off) cannot write after another one took over.
public final class PostgresStore: Store {
    let client: PostgresClient
    /// The lease's own connection: a renewal never waits behind the requests queued for `client`'s pool.
    let leaseClient: PostgresClient
    let running: Task<Void, Never>
    /// The lease every write is checked against, once set (holder and epoch).
    let fenceLease = Mutex<(holder: String, epoch: Int)?>(nil)
    let logger: Logger
    let runCache = ReadThroughCache<RunRecord>(maxAge: .seconds(1))
    let tokenCache = ReadThroughCache<TokenRecord>(maxAge: .seconds(5))

    /// Connects, and migrates the schema (one server at a time, under an advisory lock).
    public init(_ location: PostgresLocation, logger: Logger = Logger(label: "intermesh.store")) async throws {
        do {
            try await location.check(logger: logger)
        } catch {
            throw StoreError(code: .io, message: Self.describe(error))
        }
        let client = PostgresClient(configuration: try location.configuration(), backgroundLogger: logger)
        var single = try location.configuration()
        single.options.maximumConnections = 1
        let leaseClient = PostgresClient(configuration: single, backgroundLogger: logger)
        let running = Task {
            await withDiscardingTaskGroup { group in
                group.addTask { await client.run() }
                group.addTask { await leaseClient.run() }
            }
        }
        do {
            try await Self.migrate(client, logger: logger)
            self.client = client
            self.leaseClient = leaseClient
            self.running = running
            self.logger = logger
        } catch let error as StoreError {
            running.cancel()
            throw error
        } catch {
            running.cancel()
            throw StoreError(code: .io, message: Self.describe(error))
        }
    }

    deinit {
        running.cancel()
    }

    /// A PostgreSQL error as one line: the server's message, else the error.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PostgresTransactionError, let cause = error.closureError ?? error.beginError ?? error.commitError {
            return describe(cause)
        }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return "\(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    static let migrations: [String] = [
        """
        CREATE TABLE runs (
            name TEXT PRIMARY KEY, generation BIGINT NOT NULL, active_revision BIGINT NOT NULL,
            phase TEXT NOT NULL, outer_step BIGINT NOT NULL DEFAULT 0, conditions TEXT NOT NULL DEFAULT '[]',
            created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, data_key TEXT);
        CREATE TABLE revisions (
            run TEXT NOT NULL REFERENCES runs(name) ON DELETE CASCADE, number BIGINT NOT NULL,
            spec_text TEXT NOT NULL, canonical TEXT NOT NULL, plan TEXT NOT NULL, content_hash TEXT NOT NULL,
            applied_by TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (run, number));
        CREATE TABLE events (
            id BIGINT PRIMARY KEY, run TEXT NOT NULL, time DOUBLE PRECISION NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL);
        CREATE INDEX events_by_run ON events(run, id);
        CREATE TABLE event_counter (one INTEGER PRIMARY KEY CHECK (one = 1), last BIGINT NOT NULL);
        INSERT INTO event_counter VALUES (1, 0);
        CREATE TABLE tokens (
            id TEXT PRIMARY KEY, role TEXT NOT NULL, run TEXT, site TEXT, description TEXT NOT NULL,
            salt BYTEA NOT NULL, hash BYTEA NOT NULL, created_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION);
        CREATE TABLE members (id TEXT PRIMARY KEY, run TEXT NOT NULL, record TEXT NOT NULL);
        CREATE INDEX members_by_run ON members(run);
        CREATE TABLE slots (run TEXT NOT NULL, slot TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (run, slot));
        CREATE TABLE rollouts (run TEXT PRIMARY KEY REFERENCES runs(name) ON DELETE CASCADE, state TEXT NOT NULL);
        """,
        leaseMigration,
    ]

    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { connection in
            // One server migrates at a time; the others wait here, then find nothing to do.
            try await connection.query("SELECT pg_advisory_xact_lock(7700770077)", logger: logger)
            try await connection.query("CREATE TABLE IF NOT EXISTS intermesh_schema (version BIGINT NOT NULL)", logger: logger)
            var version = 0
            for try await (value) in try await connection.query("SELECT max(version) FROM intermesh_schema", logger: logger).decode(Int?.self) {
                version = value ?? 0
            }
            for (index, migration) in migrations.enumerated() where index + 1 > version {
                // One statement per query: the extended protocol takes no more.
                for statement in migration.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !statement.isEmpty {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO intermesh_schema (version) VALUES (\(index + 1))", logger: logger)
            }
        }
    }

    /// A write transaction: checked against the lease first, when the store is fenced.
    func write<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let fence = fenceLease.withLock { $0 }
        let logger = self.logger
        do {
            return try await client.withTransaction(logger: logger) { connection in
                if let fence { try await Self.checkLease(connection, holder: fence.holder, epoch: fence.epoch, logger: logger) }
                return try await body(connection)
            }
        } catch let error as StoreError {
            throw error
        } catch let error as PostgresTransactionError {
            if let error = error.closureError as? StoreError { throw error }
            let cause: any Error = error.closureError ?? error.beginError ?? error.commitError ?? error
            throw StoreError(code: .io, message: "the store: \(Self.describe(cause))")
        } catch {
            throw StoreError(code: .io, message: "the store: \(Self.describe(error))")
        }
    }

    /// One pooled connection, each statement its own transaction: reads, and writes of a single statement.
    func autocommit<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: .io, message: "the store: \(Self.describe(error))")
        }
    }

    /// Appends events with the next ids. The counter row's lock orders every transaction that appends: ids are
    /// contiguous and a reader never sees a later id before an earlier one.
    static func insertEvents(_ connection: PostgresConnection, run: String, _ events: [(kind: String, message: String)], now: Date,
                             logger: Logger) async throws -> [EventRecord] {
        guard !events.isEmpty else { return [] }
        var last = 0
        for try await value in try await connection.query(
            "UPDATE event_counter SET last = last + \(events.count) WHERE one = 1 RETURNING last", logger: logger).decode(Int.self) {
            last = value
        }
        let records = events.enumerated().map { offset, event in
            EventRecord(id: Int64(last - events.count + 1 + offset), run: run, time: now, kind: event.kind, message: event.message)
        }
        // One statement for all of them: a registration burst appends an event a member.
        try await connection.query("""
            INSERT INTO events (id, run, time, kind, message) SELECT id, \(run), \(now.timeIntervalSince1970), kind, message
            FROM unnest(\(records.map { Int($0.id) }), \(records.map(\.kind)), \(records.map(\.message))) AS e(id, kind, message)
            """, logger: logger)
        return records
    }

    /// Serializes writers of one run's rows (applies, rollouts) across servers for the transaction.
    static func lockRun(_ connection: PostgresConnection, _ run: String, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(run)))", logger: logger)
    }
}
