import Foundation
import GRDB
import IntermeshAPI
import IntermeshControl

/// The embedded store: SQLite in WAL mode through GRDB, `synchronous = FULL`, so an acknowledged apply
/// survives a crash of the process or the machine. Schema changes are numbered migrations.
///
/// Run and token rows are cached in memory (see `ReadThroughCache`): this store must be the only writer of
/// its database, which `intermesh serve` and `intermesh up` make sure of with a lock on the data directory.
public final class SQLiteStore: Store {
    let pool: DatabasePool
    let runCache = ReadThroughCache<RunRecord>()
    /// Tokens are read again every 5 s: one deleted behind the store's back stops working within that time.
    let tokenCache = ReadThroughCache<TokenRecord>(maxAge: .seconds(5))
    let lock: DirectoryLock

    /// Opens (creating if needed) `directory/intermesh.sqlite` and migrates it.
    public init(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        lock = try DirectoryLock(directory)
        try Self.restrictModes(directory)
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        configuration.busyMode = .timeout(10)
        pool = try DatabasePool(path: directory.appendingPathComponent("intermesh.sqlite").path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    /// The store holds token hashes and specs that may carry secrets: only its owner may read it. The directory is
    /// 0700 and the database 0600; SQLite gives its -wal and -shm files the database's mode. An existing store is
    /// tightened the same way when it is opened.
    static func restrictModes(_ directory: URL) throws {
        let manager = FileManager.default
        try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
        let database = directory.appendingPathComponent("intermesh.sqlite").path
        if !manager.fileExists(atPath: database) {
            guard manager.createFile(atPath: database, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw StoreError(code: .io, message: "cannot create \(database)")
            }
        }
        for suffix in ["", "-wal", "-shm"] where manager.fileExists(atPath: database + suffix) {
            try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: database + suffix)
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: runs, revisions, events, tokens, members, slots") { db in
            try db.execute(sql: """
                CREATE TABLE runs (
                    name TEXT PRIMARY KEY, generation INTEGER NOT NULL, active_revision INTEGER NOT NULL,
                    phase TEXT NOT NULL, outer_step INTEGER NOT NULL DEFAULT 0, conditions TEXT NOT NULL DEFAULT '[]',
                    created_at DOUBLE NOT NULL, updated_at DOUBLE NOT NULL);
                CREATE TABLE revisions (
                    run TEXT NOT NULL REFERENCES runs(name) ON DELETE CASCADE, number INTEGER NOT NULL,
                    spec_text TEXT NOT NULL, canonical TEXT NOT NULL, plan TEXT NOT NULL, content_hash TEXT NOT NULL,
                    applied_by TEXT NOT NULL, applied_at DOUBLE NOT NULL, PRIMARY KEY (run, number));
                CREATE TABLE events (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, run TEXT NOT NULL, time DOUBLE NOT NULL,
                    kind TEXT NOT NULL, message TEXT NOT NULL);
                CREATE INDEX events_by_run ON events(run, id);
                CREATE TABLE tokens (
                    id TEXT PRIMARY KEY, role TEXT NOT NULL, run TEXT, site TEXT, description TEXT NOT NULL,
                    salt BLOB NOT NULL, hash BLOB NOT NULL, created_at DOUBLE NOT NULL);
                CREATE TABLE members (
                    id TEXT PRIMARY KEY, run TEXT NOT NULL, record TEXT NOT NULL);
                CREATE INDEX members_by_run ON members(run);
                CREATE TABLE slots (
                    run TEXT NOT NULL, slot TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (run, slot));
                """)
        }
        migrator.registerMigration("v2: rollouts") { db in
            try db.execute(sql: "CREATE TABLE rollouts (run TEXT PRIMARY KEY REFERENCES runs(name) ON DELETE CASCADE, state TEXT NOT NULL)")
        }
        migrator.registerMigration("v3: token expiry") { db in
            try db.execute(sql: "ALTER TABLE tokens ADD COLUMN expires_at DOUBLE")
        }
        migrator.registerMigration("v4: data-plane keys") { db in
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN data_key TEXT")
        }
        return migrator
    }

    // MARK: Runs and revisions

    public func apply(_ request: ApplyRequest) async throws -> ApplyOutcome {
        defer { runCache.invalidate(request.run) }
        return try await pool.write { db in
            let current = try Row.fetchOne(db, sql: "SELECT active_revision, generation FROM runs WHERE name = ?", arguments: [request.run])
            let generation: Int = current?["generation"] ?? 0
            if let expected = request.checkRevision, expected != generation {
                throw StoreError(code: .conflict(current: generation),
                                 message: "run \(request.run) is at revision \(generation), not \(expected)")
            }
            // Unchanged means equal to the active revision (a reverted canary's spec applied again is a new revision).
            if let current, let latest = try Self.revision(db, run: request.run, number: current["active_revision"]),
               latest.contentHash == request.contentHash {
                return .unchanged(latest)
            }
            let revision = RevisionRecord(run: request.run, number: generation + 1, specText: request.specText,
                                          canonical: request.canonical, plan: request.plan, contentHash: request.contentHash,
                                          appliedBy: request.appliedBy, appliedAt: request.now)
            let now = request.now.timeIntervalSince1970
            if current == nil {
                try db.execute(sql: """
                    INSERT INTO runs (name, generation, active_revision, phase, created_at, updated_at)
                    VALUES (?, 1, 1, 'running', ?, ?)
                    """, arguments: [request.run, now, now])
            } else {
                try db.execute(sql: "UPDATE runs SET generation = ?, active_revision = ?, phase = 'running', updated_at = ? WHERE name = ?",
                               arguments: [revision.number, revision.number, now, request.run])
            }
            try db.execute(sql: """
                INSERT INTO revisions (run, number, spec_text, canonical, plan, content_hash, applied_by, applied_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [revision.run, revision.number, revision.specText, revision.canonical, revision.plan,
                                 revision.contentHash, revision.appliedBy, now])
            try db.execute(sql: "INSERT INTO events (run, time, kind, message) VALUES (?, ?, 'Applied', ?)",
                           arguments: [request.run, now, "revision \(revision.number) applied by \(request.appliedBy)"])
            if let plan = request.rollout {
                let (state, events) = plan(revision.number, try Self.rolloutState(db, run: request.run))
                try Self.saveRolloutState(db, state, run: request.run)
                for message in events {
                    try db.execute(sql: "INSERT INTO events (run, time, kind, message) VALUES (?, ?, 'Rollout', ?)", arguments: [request.run, now, message])
                }
            }
            return current == nil ? .created(revision) : .updated(revision)
        }
    }

    static func revision(_ db: Database, run: String, number: Int) throws -> RevisionRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM revisions WHERE run = ? AND number = ?", arguments: [run, number]).map(revision)
    }

    static func revision(_ row: Row) -> RevisionRecord {
        RevisionRecord(run: row["run"], number: row["number"], specText: row["spec_text"], canonical: row["canonical"],
                       plan: row["plan"], contentHash: row["content_hash"], appliedBy: row["applied_by"],
                       appliedAt: Date(timeIntervalSince1970: row["applied_at"]))
    }

    static func run(_ row: Row) throws -> RunRecord {
        RunRecord(name: row["name"], generation: row["generation"], activeRevision: row["active_revision"],
                  phase: RunPhase(rawValue: row["phase"]) ?? .running, outerStep: row["outer_step"],
                  conditions: try StoreCoding.value([RunCondition].self, row["conditions"]),
                  createdAt: Date(timeIntervalSince1970: row["created_at"]), updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
    }

    public func run(_ name: String) async throws -> RunRecord? {
        try await runCache.value(name) {
            try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE name = ?", arguments: [name]).map(Self.run) }
        }
    }

    public func runs() async throws -> [RunRecord] {
        try await pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM runs ORDER BY name").map(Self.run) }
    }

    public func revisions(of run: String) async throws -> [RevisionRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM revisions WHERE run = ? ORDER BY number", arguments: [run]).map(Self.revision)
        }
    }

    public func revision(of run: String, number: Int) async throws -> RevisionRecord? {
        try await pool.read { db in try Self.revision(db, run: run, number: number) }
    }

    public func setPhase(_ phase: RunPhase, of run: String, now: Date) async throws {
        defer { runCache.invalidate(run) }
        try await pool.write { db in
            try db.execute(sql: "UPDATE runs SET phase = ?, updated_at = ? WHERE name = ?",
                           arguments: [phase.rawValue, now.timeIntervalSince1970, run])
            guard db.changesCount > 0 else { throw StoreError(code: .notFound, message: "no run named \(run)") }
        }
    }

    public func updateStatus(of run: String, outerStep: Int, conditions: [RunCondition], now: Date) async throws {
        let text = try StoreCoding.json(conditions)
        defer { runCache.invalidate(run) }
        try await pool.write { db in
            try db.execute(sql: "UPDATE runs SET outer_step = ?, conditions = ?, updated_at = ? WHERE name = ?",
                           arguments: [outerStep, text, now.timeIntervalSince1970, run])
        }
    }

    public func deleteRun(_ name: String) async throws -> Bool {
        defer { runCache.invalidate(name) }
        return try await pool.write { db in
            try db.execute(sql: "DELETE FROM members WHERE run = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM slots WHERE run = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM events WHERE run = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM rollouts WHERE run = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM runs WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    // MARK: Rollouts

    static func rolloutState(_ db: Database, run: String) throws -> RolloutState? {
        try String.fetchOne(db, sql: "SELECT state FROM rollouts WHERE run = ?", arguments: [run]).map {
            try StoreCoding.decoder.decode(RolloutState.self, from: Data($0.utf8))
        }
    }

    static func saveRolloutState(_ db: Database, _ state: RolloutState, run: String) throws {
        try db.execute(sql: "INSERT INTO rollouts (run, state) VALUES (?, ?) ON CONFLICT(run) DO UPDATE SET state = excluded.state",
                       arguments: [run, try StoreCoding.json(state)])
    }

    public func rolloutState(of run: String) async throws -> RolloutState? {
        try await pool.read { db in try Self.rolloutState(db, run: run) }
    }

    public func updateRolloutState(run: String, now: Date, _ transform: @Sendable (RolloutState?) throws -> RolloutUpdate?) async throws -> RolloutState? {
        defer { runCache.invalidate(run) }
        return try await pool.write { db in
            let current = try Self.rolloutState(db, run: run)
            guard let update = try transform(current) else { return current }
            try Self.saveRolloutState(db, update.state, run: run)
            if let active = update.activeRevision {
                try db.execute(sql: "UPDATE runs SET active_revision = ?, updated_at = ? WHERE name = ?",
                               arguments: [active, now.timeIntervalSince1970, run])
            }
            for message in update.events {
                try db.execute(sql: "INSERT INTO events (run, time, kind, message) VALUES (?, ?, 'Rollout', ?)",
                               arguments: [run, now.timeIntervalSince1970, message])
            }
            return update.state
        }
    }

    // MARK: Events

    public func appendEvent(run: String, kind: String, message: String, now: Date) async throws -> EventRecord {
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO events (run, time, kind, message) VALUES (?, ?, ?, ?)",
                           arguments: [run, now.timeIntervalSince1970, kind, message])
            return EventRecord(id: db.lastInsertedRowID, run: run, time: now, kind: kind, message: message)
        }
    }

    public func appendEvents(run: String, _ events: [(kind: String, message: String)], now: Date) async throws {
        guard !events.isEmpty else { return }
        try await pool.write { db in
            for event in events {
                try db.execute(sql: "INSERT INTO events (run, time, kind, message) VALUES (?, ?, ?, ?)",
                               arguments: [run, now.timeIntervalSince1970, event.kind, event.message])
            }
        }
    }

    public func events(of run: String, after: Int64, limit: Int) async throws -> [EventRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM events WHERE run = ? AND id > ? ORDER BY id LIMIT ?", arguments: [run, after, limit]).map {
                EventRecord(id: $0["id"], run: $0["run"], time: Date(timeIntervalSince1970: $0["time"]), kind: $0["kind"], message: $0["message"])
            }
        }
    }

    // MARK: Members and slots

    public func register(_ members: [MemberRecord], slots: [String: SlotRecord], events: [(kind: String, message: String)], run: String,
                         now: Date) async throws {
        let memberRows = try members.map { ($0.id, try StoreCoding.json($0)) }
        let slotRows = try slots.map { ($0.key, try StoreCoding.json($0.value)) }
        try await pool.write { db in
            // Statements compiled once per connection: a registration of 100 members writes 300 rows.
            let member = try db.cachedStatement(sql: "INSERT INTO members (id, run, record) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET record = excluded.record")
            for (id, record) in memberRows { try member.execute(arguments: [id, run, record]) }
            let slot = try db.cachedStatement(sql: "INSERT INTO slots (run, slot, record) VALUES (?, ?, ?) ON CONFLICT(run, slot) DO UPDATE SET record = excluded.record")
            for (name, text) in slotRows { try slot.execute(arguments: [run, name, text]) }
            let event = try db.cachedStatement(sql: "INSERT INTO events (run, time, kind, message) VALUES (?, ?, ?, ?)")
            for (kind, message) in events { try event.execute(arguments: [run, now.timeIntervalSince1970, kind, message]) }
        }
    }

    public func members(of run: String) async throws -> [MemberRecord] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT record FROM members WHERE run = ? ORDER BY id", arguments: [run]).map {
                try StoreCoding.value(MemberRecord.self, $0)
            }
        }
    }

    public func removeMembers(_ ids: [String], run: String) async throws {
        guard !ids.isEmpty else { return }
        try await pool.write { db in
            for id in ids { try db.execute(sql: "DELETE FROM members WHERE id = ? AND run = ?", arguments: [id, run]) }
        }
    }

    public func slots(of run: String) async throws -> [String: SlotRecord] {
        try await pool.read { db in
            var out: [String: SlotRecord] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT slot, record FROM slots WHERE run = ?", arguments: [run]) {
                out[row["slot"]] = try StoreCoding.value(SlotRecord.self, row["record"])
            }
            return out
        }
    }

    public func slots(of run: String, named: [String]) async throws -> [String: SlotRecord] {
        guard !named.isEmpty else { return [:] }
        return try await pool.read { db in
            var out: [String: SlotRecord] = [:]
            for chunk in stride(from: 0, to: named.count, by: 500).map({ Array(named[$0..<min($0 + 500, named.count)]) }) {
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                let arguments = StatementArguments([run] + chunk)
                for row in try Row.fetchAll(db, sql: "SELECT slot, record FROM slots WHERE run = ? AND slot IN (\(marks))", arguments: arguments) {
                    out[row["slot"]] = try StoreCoding.value(SlotRecord.self, row["record"])
                }
            }
            return out
        }
    }

    public func saveSlots(_ slots: [String: SlotRecord], run: String) async throws {
        guard !slots.isEmpty else { return }
        let rows = try slots.map { ($0.key, try StoreCoding.json($0.value)) }
        try await pool.write { db in
            for (slot, text) in rows {
                try db.execute(sql: "INSERT INTO slots (run, slot, record) VALUES (?, ?, ?) ON CONFLICT(run, slot) DO UPDATE SET record = excluded.record",
                               arguments: [run, slot, text])
            }
        }
    }
}
