import Crypto
import Foundation
import IntermeshAPI

/// A token as stored: never the secret, only a salted hash of it.
public struct TokenRecord: Codable, Sendable, Hashable {
    public var id: String
    public var role: Role
    public var run: String?
    public var site: String?
    public var description: String
    public var salt: [UInt8]
    public var hash: [UInt8]
    public var createdAt: Date
    /// After this the token is refused; nil: it does not expire.
    public var expiresAt: Date?

    public func isExpired(at now: Date) -> Bool {
        expiresAt.map { now >= $0 } ?? false
    }

    /// What may be shown of it: never its salt or hash.
    public var info: TokenInfo {
        TokenInfo(id: id, role: role, run: run, site: site, description: description, createdAt: createdAt, expiresAt: expiresAt)
    }
}

/// Bearer tokens of the form `imt_<id>_<secret>`: the id finds the record, the secret is checked against
/// its salted SHA-256 in constant time.
public enum AccessToken {
    public static let prefix = "imt_"

    /// A new token: the text to show once, and the record to store.
    public static func issue(role: Role, run: String?, site: String?, description: String, now: Date,
                             expiresAt: Date? = nil) -> (text: String, record: TokenRecord) {
        let id = hex(random(5))
        let secret = hex(random(24))
        let salt = random(16)
        let record = TokenRecord(id: id, role: role, run: run, site: site, description: description, salt: salt,
                                 hash: digest(salt: salt, secret: secret), createdAt: now, expiresAt: expiresAt)
        return ("\(prefix)\(id)_\(secret)", record)
    }

    /// The id and secret of a presented token, or nil when it is not one of ours.
    public static func parse(_ text: String) -> (id: String, secret: String)? {
        guard text.hasPrefix(prefix) else { return nil }
        let parts = text.dropFirst(prefix.count).split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 10, parts[1].count == 48,
              parts.allSatisfy({ $0.allSatisfy(\.isHexDigit) }) else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    public static func verify(secret: String, against record: TokenRecord) -> Bool {
        let candidate = digest(salt: record.salt, secret: secret)
        guard candidate.count == record.hash.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(candidate, record.hash) { difference |= a ^ b }
        return difference == 0
    }

    static func digest(salt: [UInt8], secret: String) -> [UInt8] {
        Array(SHA256.hash(data: salt + Array(secret.utf8)))
    }

    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
