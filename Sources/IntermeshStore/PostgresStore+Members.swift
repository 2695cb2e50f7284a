import Foundation
import IntermeshAPI
import IntermeshControl
import PostgresNIO

/// Members, slots, data-plane keys and tokens on PostgreSQL.
extension PostgresStore {
    // MARK: Members and slots

    public func register(_ members: [MemberRecord], slots: [String: SlotRecord], events: [(kind: String, message: String)], run: String,
                         now: Date) async throws {
        // The last record of a member named twice (one statement may not change a row twice).
        var latest: [String: Int] = [:]
        for (index, member) in members.enumerated() { latest[member.id] = index }
        let memberRows = try members.enumerated().filter { latest[$0.element.id] == $0.offset }.map { ($0.element.id, try StoreCoding.json($0.element)) }
        let slotRows = try slots.map { ($0.key, try StoreCoding.json($0.value)) }
        let logger = self.logger
        try await write { connection in
            // One statement for the whole group (a registration burst writes thousands): arrays, not a round trip a row.
            if !memberRows.isEmpty {
                try await connection.query("""
                    INSERT INTO members (id, run, record) SELECT id, \(run), record FROM unnest(\(memberRows.map(\.0)), \(memberRows.map(\.1))) AS m(id, record)
                    ON CONFLICT (id) DO UPDATE SET record = excluded.record
                    """, logger: logger)
            }
            try await Self.upsertSlots(connection, slotRows, run: run, logger: logger)
            _ = try await Self.insertEvents(connection, run: run, events, now: now, logger: logger)
        }
    }

    static func upsertSlots(_ connection: PostgresConnection, _ rows: [(String, String)], run: String, logger: Logger) async throws {
        guard !rows.isEmpty else { return }
        try await connection.query("""
            INSERT INTO slots (run, slot, record) SELECT \(run), slot, record FROM unnest(\(rows.map(\.0)), \(rows.map(\.1))) AS s(slot, record)
            ON CONFLICT (run, slot) DO UPDATE SET record = excluded.record
            """, logger: logger)
    }

    public func members(of run: String) async throws -> [MemberRecord] {
        let logger = self.logger
        return try await autocommit { connection in
            var out: [MemberRecord] = []
            for try await text in try await connection.query("SELECT record FROM members WHERE run = \(run) ORDER BY id", logger: logger).decode(String.self) {
                out.append(try StoreCoding.value(MemberRecord.self, text))
            }
            return out
        }
    }

    public func removeMembers(_ ids: [String], run: String) async throws {
        guard !ids.isEmpty else { return }
        let logger = self.logger
        try await write { connection in
            try await connection.query("DELETE FROM members WHERE run = \(run) AND id = ANY(\(ids))", logger: logger)
        }
    }

    public func slots(of run: String) async throws -> [String: SlotRecord] {
        let logger = self.logger
        return try await autocommit { connection in
            try await Self.slots(try await connection.query("SELECT slot, record FROM slots WHERE run = \(run)", logger: logger))
        }
    }

    public func slots(of run: String, named: [String]) async throws -> [String: SlotRecord] {
        guard !named.isEmpty else { return [:] }
        let logger = self.logger
        return try await autocommit { connection in
            try await Self.slots(try await connection.query("SELECT slot, record FROM slots WHERE run = \(run) AND slot = ANY(\(named))", logger: logger))
        }
    }

    static func slots(_ rows: PostgresRowSequence) async throws -> [String: SlotRecord] {
        var out: [String: SlotRecord] = [:]
        for try await (slot, text) in rows.decode((String, String).self) { out[slot] = try StoreCoding.value(SlotRecord.self, text) }
        return out
    }

    public func saveSlots(_ slots: [String: SlotRecord], run: String) async throws {
        guard !slots.isEmpty else { return }
        let rows = try slots.map { ($0.key, try StoreCoding.json($0.value)) }
        let logger = self.logger
        try await write { connection in try await Self.upsertSlots(connection, rows, run: run, logger: logger) }
    }

    // MARK: Data-plane keys

    public func dataKey(of run: String) async throws -> String? {
        let logger = self.logger
        // Made on first use; two servers asking at once agree on the first one written.
        let candidate = AccessToken.hex(AccessToken.random(32))
        return try await write { connection in
            var key: String?
            for try await value in try await connection.query("""
                UPDATE runs SET data_key = COALESCE(data_key, \(candidate)) WHERE name = \(run) RETURNING data_key
                """, logger: logger).decode(String.self) {
                key = value
            }
            return key
        }
    }

    // MARK: Tokens

    public func saveToken(_ token: TokenRecord) async throws {
        let logger = self.logger
        try await write { connection in
            try await connection.query("""
                INSERT INTO tokens (id, role, run, site, description, salt, hash, created_at, expires_at) VALUES (\(token.id), \(token.role.rawValue),
                \(token.run), \(token.site), \(token.description), \(Data(token.salt)), \(Data(token.hash)), \(token.createdAt.timeIntervalSince1970),
                \(token.expiresAt?.timeIntervalSince1970))
                """, logger: logger)
        }
    }

    static let tokenColumns = "id, role, run, site, description, salt, hash, created_at, expires_at"

    /// Rows' tokens; a row naming a role this version does not know grants nothing and is left out.
    static func tokens(_ rows: PostgresRowSequence) async throws -> [TokenRecord] {
        var out: [TokenRecord] = []
        for try await (id, role, run, site, description, salt, hash, createdAt, expiresAt)
            in rows.decode((String, String, String?, String?, String, Data, Data, Double, Double?).self) {
            guard let role = Role(rawValue: role) else { continue }
            out.append(TokenRecord(id: id, role: role, run: run, site: site, description: description, salt: [UInt8](salt), hash: [UInt8](hash),
                                   createdAt: Date(timeIntervalSince1970: createdAt), expiresAt: expiresAt.map(Date.init(timeIntervalSince1970:))))
        }
        return out
    }

    public func token(id: String) async throws -> TokenRecord? {
        let logger = self.logger
        return try await tokenCache.value(id) {
            try await autocommit { connection in
                try await Self.tokens(try await connection.query("SELECT \(unescaped: Self.tokenColumns) FROM tokens WHERE id = \(id)", logger: logger)).first
            }
        }
    }

    public func tokens() async throws -> [TokenRecord] {
        let logger = self.logger
        return try await autocommit { connection in
            try await Self.tokens(try await connection.query("SELECT \(unescaped: Self.tokenColumns) FROM tokens ORDER BY created_at, id", logger: logger))
        }
    }

    public func deleteToken(id: String) async throws -> Bool {
        defer { tokenCache.invalidate(id) }
        let logger = self.logger
        return try await write { connection in
            try await Self.count(try await connection.query("DELETE FROM tokens WHERE id = \(id) RETURNING 1", logger: logger)) > 0
        }
    }

    public func tokenCount() async throws -> Int {
        let logger = self.logger
        return try await autocommit { connection in
            var count = 0
            for try await value in try await connection.query("SELECT count(*) FROM tokens", logger: logger).decode(Int.self) { count = value }
            return count
        }
    }
}
