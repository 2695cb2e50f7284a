import Foundation
import IntermeshAPI
import IntermeshControl
import Logging
import PostgresNIO

/// The store on PostgreSQL, for control planes that outlive their machine: the same tables, migrations and
/// transactions as `SQLiteStore`. A revision and its rollout commit together; event ids are contiguous and in commit
/// order (one counter row, locked by every transaction that appends events); tokens are salted hashes.
///
/// A server opens it `exclusive`: it holds a session lock of the database on a connection of its own while it runs,
/// and a second server is refused, as a second process is on an SQLite directory. The lock ends with the session,
/// so a server that died (even by kill -9) frees it. Others may read (run rows are cached for a second and token
/// rows for five, so a change the server made is seen within that time).
public final class PostgresStore: Store {
    let client: PostgresClient
    let running: Task<Void, Never>
    /// Holds the exclusive lock's connection while the store lives.
    let holder: Task<Void, Never>?
    let logger: Logger
    let runCache = ReadThroughCache<RunRecord>(maxAge: .seconds(1))
    let tokenCache = ReadThroughCache<TokenRecord>(maxAge: .seconds(5))

    /// Connects, and migrates the schema (one server at a time, under an advisory lock); `exclusive` also takes the
    /// store's session lock, or fails with `.locked` when another server holds it.
    public init(_ location: PostgresLocation, exclusive: Bool = false, logger: Logger = Logger(label: "intermesh.store")) async throws {
        do {
            try await location.check(logger: logger)
        } catch {
            throw StoreError(code: .io, message: Self.describe(error))
        }
        let client = PostgresClient(configuration: try location.configuration(), backgroundLogger: logger)
        let running = Task { await client.run() }
        do {
            try await Self.migrate(client, logger: logger)
            holder = exclusive ? try await Self.holdLock(client, logger: logger) : nil
            self.client = client
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
        holder?.cancel()
        running.cancel()
    }

    static let sessionLock = 7_700_770_078

    /// Takes the store's session lock on a connection that stays leased (and so open) until the returned task is
    /// cancelled.
    static func holdLock(_ client: PostgresClient, logger: Logger) async throws -> Task<Void, Never> {
        let taken = AsyncStream<Result<Bool, any Error>>.makeStream()
        let task = Task {
            do {
                try await client.withConnection { connection in
                    var acquired = false
                    for try await value in try await connection.query("SELECT pg_try_advisory_lock(\(sessionLock))", logger: logger).decode(Bool.self) {
                        acquired = value
                    }
                    taken.continuation.yield(.success(acquired))
                    guard acquired else { return }
                    while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                    // Released with the session; unlocking first frees it at once for the next server.
                    _ = try? await connection.query("SELECT pg_advisory_unlock(\(sessionLock))", logger: logger)
                }
            } catch {
                taken.continuation.yield(.failure(error))
            }
        }
        for await result in taken.stream {
            guard try result.get() else {
                throw StoreError(code: .locked, message: "another server has this store open (it holds the store's lock)")
            }
            return task
        }
        throw StoreError(code: .io, message: "the store's lock could not be taken")
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

    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
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
        var records: [EventRecord] = []
        for (offset, event) in events.enumerated() {
            let id = last - events.count + 1 + offset
            try await connection.query("""
                INSERT INTO events (id, run, time, kind, message) VALUES (\(id), \(run), \(now.timeIntervalSince1970), \(event.kind), \(event.message))
                """, logger: logger)
            records.append(EventRecord(id: Int64(id), run: run, time: now, kind: event.kind, message: event.message))
        }
        return records
    }

    /// Serializes writers of one run's rows (applies, rollouts) across servers for the transaction.
    static func lockRun(_ connection: PostgresConnection, _ run: String, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(run)))", logger: logger)
    }
}
