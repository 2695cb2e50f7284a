import Foundation
import IntermeshStore

/// One-time sign-in links for the console: a code stands for a token for a few minutes and works once, so a link
/// printed by `intermesh up` does not stay a credential in the terminal's scrollback.
public actor SignInCodes {
    public static let lifetime: TimeInterval = 600
    /// At most this many codes wait at once; the oldest is dropped to make room.
    static let capacity = 100

    var codes: [String: (token: String, expires: Date)] = [:]
    let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = Date.init) {
        self.now = now
    }

    /// A new code for `token`, valid for `lifetime` seconds.
    public func mint(token: String) -> String {
        let current = now()
        codes = codes.filter { $0.value.expires > current }
        if codes.count >= Self.capacity, let oldest = codes.min(by: { $0.value.expires < $1.value.expires })?.key { codes[oldest] = nil }
        var generator = SystemRandomNumberGenerator()
        let code = (0..<24).map { _ in String(format: "%02x", generator.next() as UInt8) }.joined()
        codes[code] = (token, current.addingTimeInterval(Self.lifetime))
        return code
    }

    /// The token a code stands for, once: the code is gone after this, used or expired.
    public func redeem(_ code: String) -> String? {
        guard let entry = codes.removeValue(forKey: code), entry.expires > now() else { return nil }
        return entry.token
    }
}
