import Foundation
import IntermeshAPI
import IntermeshControl
import PostgresNIO

/// Runs, revisions, rollouts and events on PostgreSQL.
extension PostgresStore {
    static let revisionColumns = "run, number, spec_text, canonical, plan, content_hash, applied_by, applied_at"
    static let runColumns = "name, generation, active_revision, phase, outer_step, conditions, created_at, updated_at"

    static func revisions(_ rows: PostgresRowSequence) async throws -> [RevisionRecord] {
        var out: [RevisionRecord] = []
        for try await (run, number, specText, canonical, plan, hash, appliedBy, appliedAt)
            in rows.decode((String, Int, String, String, String, String, String, Double).self) {
            out.append(RevisionRecord(run: run, number: number, specText: specText, canonical: canonical, plan: plan, contentHash: hash,
                                      appliedBy: appliedBy, appliedAt: Date(timeIntervalSince1970: appliedAt)))
        }
        return out
    }

    static func runs(_ rows: PostgresRowSequence) async throws -> [RunRecord] {
        var out: [RunRecord] = []
        for try await (name, generation, active, phase, outerStep, conditions, createdAt, updatedAt)
            in rows.decode((String, Int, Int, String, Int, String, Double, Double).self) {
            out.append(RunRecord(name: name, generation: generation, activeRevision: active, phase: RunPhase(rawValue: phase) ?? .running,
                                 outerStep: outerStep, conditions: try StoreCoding.value([RunCondition].self, conditions),
                                 createdAt: Date(timeIntervalSince1970: createdAt), updatedAt: Date(timeIntervalSince1970: updatedAt)))
        }
        return out
    }

    static func revision(_ connection: PostgresConnection, run: String, number: Int, logger: Logger) async throws -> RevisionRecord? {
        try await revisions(try await connection.query(
            "SELECT \(unescaped: revisionColumns) FROM revisions WHERE run = \(run) AND number = \(number)", logger: logger)).first
    }

    public func apply(_ request: ApplyRequest) async throws -> ApplyOutcome {
        defer { runCache.invalidate(request.run) }
        let logger = self.logger
        return try await write { connection in
            try await Self.lockRun(connection, request.run, logger: logger)
            var current: (active: Int, generation: Int)?
            for try await row in try await connection.query(
                "SELECT active_revision, generation FROM runs WHERE name = \(request.run)", logger: logger).decode((Int, Int).self) {
                current = row
            }
            let generation = current?.generation ?? 0
            if let expected = request.checkRevision, expected != generation {
                throw StoreError(code: .conflict(current: generation), message: "run \(request.run) is at revision \(generation), not \(expected)")
            }
            if let current, let latest = try await Self.revision(connection, run: request.run, number: current.active, logger: logger),
               latest.contentHash == request.contentHash {
                return .unchanged(latest)
            }
            let revision = RevisionRecord(run: request.run, number: generation + 1, specText: request.specText, canonical: request.canonical,
                                          plan: request.plan, contentHash: request.contentHash, appliedBy: request.appliedBy, appliedAt: request.now)
            let now = request.now.timeIntervalSince1970
            if current == nil {
                try await connection.query("""
                    INSERT INTO runs (name, generation, active_revision, phase, created_at, updated_at) VALUES (\(request.run), 1, 1, 'running', \(now), \(now))
                    """, logger: logger)
            } else {
                try await connection.query("""
                    UPDATE runs SET generation = \(revision.number), active_revision = \(revision.number), phase = 'running', updated_at = \(now)
                    WHERE name = \(request.run)
                    """, logger: logger)
            }
            try await connection.query("""
                INSERT INTO revisions (\(unescaped: Self.revisionColumns)) VALUES (\(revision.run), \(revision.number), \(revision.specText),
                \(revision.canonical), \(revision.plan), \(revision.contentHash), \(revision.appliedBy), \(now))
                """, logger: logger)
            var events: [(kind: String, message: String)] = [("Applied", "revision \(revision.number) applied by \(request.appliedBy)")]
            if let plan = request.rollout {
                let (state, messages) = plan(revision.number, try await Self.rolloutState(connection, run: request.run, logger: logger))
                try await Self.saveRolloutState(connection, state, run: request.run, logger: logger)
                events += messages.map { ("Rollout", $0) }
            }
            _ = try await Self.insertEvents(connection, run: request.run, events, now: request.now, logger: logger)
            return current == nil ? .created(revision) : .updated(revision)
        }
    }

    public func run(_ name: String) async throws -> RunRecord? {
        let logger = self.logger
        return try await runCache.value(name) {
            try await autocommit { connection in
                try await Self.runs(try await connection.query("SELECT \(unescaped: Self.runColumns) FROM runs WHERE name = \(name)", logger: logger)).first
            }
        }
    }

    public func runs() async throws -> [RunRecord] {
        let logger = self.logger
        return try await autocommit { connection in
            try await Self.runs(try await connection.query("SELECT \(unescaped: Self.runColumns) FROM runs ORDER BY name", logger: logger))
        }
    }

    public func revisions(of run: String) async throws -> [RevisionRecord] {
        let logger = self.logger
        return try await autocommit { connection in
            try await Self.revisions(try await connection.query(
                "SELECT \(unescaped: Self.revisionColumns) FROM revisions WHERE run = \(run) ORDER BY number", logger: logger))
        }
    }

    public func revision(of run: String, number: Int) async throws -> RevisionRecord? {
        let logger = self.logger
        return try await autocommit { connection in try await Self.revision(connection, run: run, number: number, logger: logger) }
    }

    public func setPhase(_ phase: RunPhase, of run: String, now: Date) async throws {
        defer { runCache.invalidate(run) }
        let logger = self.logger
        let changed = try await write { connection in
            try await Self.count(try await connection.query(
                "UPDATE runs SET phase = \(phase.rawValue), updated_at = \(now.timeIntervalSince1970) WHERE name = \(run) RETURNING 1", logger: logger))
        }
        guard changed > 0 else { throw StoreError(code: .notFound, message: "no run named \(run)") }
    }

    public func updateStatus(of run: String, outerStep: Int, conditions: [RunCondition], now: Date) async throws {
        let text = try StoreCoding.json(conditions)
        defer { runCache.invalidate(run) }
        let logger = self.logger
        try await write { connection in
            try await connection.query("""
                UPDATE runs SET outer_step = \(outerStep), conditions = \(text), updated_at = \(now.timeIntervalSince1970) WHERE name = \(run)
                """, logger: logger)
        }
    }

    public func deleteRun(_ name: String) async throws -> Bool {
        defer { runCache.invalidate(name) }
        let logger = self.logger
        return try await write { connection in
            for table in ["members", "slots", "events", "rollouts"] {
                try await connection.query("DELETE FROM \(unescaped: table) WHERE run = \(name)", logger: logger)
            }
            return try await Self.count(try await connection.query("DELETE FROM runs WHERE name = \(name) RETURNING 1", logger: logger)) > 0
        }
    }

    static func count(_ rows: PostgresRowSequence) async throws -> Int {
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }

    // MARK: Rollouts

    static func rolloutState(_ connection: PostgresConnection, run: String, logger: Logger) async throws -> RolloutState? {
        var state: RolloutState?
        for try await text in try await connection.query("SELECT state FROM rollouts WHERE run = \(run)", logger: logger).decode(String.self) {
            state = try StoreCoding.value(RolloutState.self, text)
        }
        return state
    }

    static func saveRolloutState(_ connection: PostgresConnection, _ state: RolloutState, run: String, logger: Logger) async throws {
        let text = try StoreCoding.json(state)
        try await connection.query("""
            INSERT INTO rollouts (run, state) VALUES (\(run), \(text)) ON CONFLICT (run) DO UPDATE SET state = excluded.state
            """, logger: logger)
    }

    public func rolloutState(of run: String) async throws -> RolloutState? {
        let logger = self.logger
        return try await autocommit { connection in try await Self.rolloutState(connection, run: run, logger: logger) }
    }

    public func updateRolloutState(run: String, now: Date, _ transform: @Sendable (RolloutState?) throws -> RolloutUpdate?) async throws -> RolloutState? {
        defer { runCache.invalidate(run) }
        let logger = self.logger
        return try await write { connection in
            try await Self.lockRun(connection, run, logger: logger)
            let current = try await Self.rolloutState(connection, run: run, logger: logger)
            guard let update = try transform(current) else { return current }
            try await Self.saveRolloutState(connection, update.state, run: run, logger: logger)
            if let active = update.activeRevision {
                try await connection.query(
                    "UPDATE runs SET active_revision = \(active), updated_at = \(now.timeIntervalSince1970) WHERE name = \(run)", logger: logger)
            }
            _ = try await Self.insertEvents(connection, run: run, update.events.map { ("Rollout", $0) }, now: now, logger: logger)
            return update.state
        }
    }

    // MARK: Events

    public func appendEvent(run: String, kind: String, message: String, now: Date) async throws -> EventRecord {
        let logger = self.logger
        return try await write { connection in
            try await Self.insertEvents(connection, run: run, [(kind, message)], now: now, logger: logger)[0]
        }
    }

    public func appendEvents(run: String, _ events: [(kind: String, message: String)], now: Date) async throws {
        guard !events.isEmpty else { return }
        let logger = self.logger
        try await write { connection in _ = try await Self.insertEvents(connection, run: run, events, now: now, logger: logger) }
    }

    public func events(of run: String, after: Int64, limit: Int) async throws -> [EventRecord] {
        let logger = self.logger
        return try await autocommit { connection in
            var out: [EventRecord] = []
            for try await (id, run, time, kind, message) in try await connection.query(
                "SELECT id, run, time, kind, message FROM events WHERE run = \(run) AND id > \(Int(after)) ORDER BY id LIMIT \(limit)",
                logger: logger).decode((Int, String, Double, String, String).self) {
                out.append(EventRecord(id: Int64(id), run: run, time: Date(timeIntervalSince1970: time), kind: kind, message: message))
            }
            return out
        }
    }
}
