import Foundation
import GRDB
import IntermeshAPI
import IntermeshControl

/// Secrets the store keeps: data-plane keys of runs and access tokens.
extension SQLiteStore {
    // MARK: Data-plane keys

    public func dataKey(of run: String) async throws -> String? {
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT data_key FROM runs WHERE name = ?", arguments: [run]) else { return nil }
            if let key: String = row["data_key"] { return key }
            // Made on first use: runs of stores written before keys existed get one too.
            let key = AccessToken.hex(AccessToken.random(32))
            try db.execute(sql: "UPDATE runs SET data_key = ? WHERE name = ?", arguments: [key, run])
            return key
        }
    }

    // MARK: Tokens

    public func saveToken(_ token: TokenRecord) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO tokens (id, role, run, site, description, salt, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [token.id, token.role.rawValue, token.run, token.site, token.description,
                                 Data(token.salt), Data(token.hash), token.createdAt.timeIntervalSince1970,
                                 token.expiresAt?.timeIntervalSince1970])
        }
    }

    public func token(id: String) async throws -> TokenRecord? {
        try await tokenCache.value(id) { try await loadToken(id: id) }
    }

    func loadToken(id: String) async throws -> TokenRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM tokens WHERE id = ?", arguments: [id]).flatMap(Self.token(row:))
        }
    }

    public func tokens() async throws -> [TokenRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM tokens ORDER BY created_at, id").compactMap(Self.token(row:))
        }
    }

    public func deleteToken(id: String) async throws -> Bool {
        defer { tokenCache.invalidate(id) }
        return try await pool.write { db in
            try db.execute(sql: "DELETE FROM tokens WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    /// A row's token; nil when its role is not one this version knows (such a row grants nothing).
    static func token(row: Row) -> TokenRecord? {
        guard let role = Role(rawValue: row["role"]) else { return nil }
        let salt: Data = row["salt"], hash: Data = row["hash"]
        let expires: Double? = row["expires_at"]
        return TokenRecord(id: row["id"], role: role, run: row["run"], site: row["site"], description: row["description"],
                           salt: [UInt8](salt), hash: [UInt8](hash), createdAt: Date(timeIntervalSince1970: row["created_at"]),
                           expiresAt: expires.map(Date.init(timeIntervalSince1970:)))
    }

    public func tokenCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tokens") ?? 0 }
    }
}
