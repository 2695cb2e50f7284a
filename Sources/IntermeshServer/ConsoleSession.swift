import Foundation
import HTTPTypes
import Hummingbird

/// The console's session: the token in an HttpOnly, SameSite=Strict cookie, and a second cookie the page reads and
/// echoes in a header on every write (double submit), so a request another site makes the browser send is refused.
enum ConsoleSession {
    static let tokenCookie = "intermesh_session"
    static let csrfCookie = "intermesh_csrf"
    static let csrfHeader = HTTPField.Name("X-Intermesh-CSRF")!
    /// Pages and redirects send a referrer only to this server: a one-time sign-in link must not travel on. (Not
    /// `no-referrer`: under it a browser sends `Origin: null` with a form, and the sign-in form would be refused.)
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    /// How long a console sign-in lasts (the token's own expiry ends it sooner).
    static let lifetime = 8 * 3600

    /// The cookies of a new session for `token`; `Secure` when the server speaks TLS.
    static func cookies(token: String, secure: Bool) -> [Cookie] {
        var generator = SystemRandomNumberGenerator()
        let csrf = (0..<16).map { _ in String(format: "%02x", generator.next() as UInt8) }.joined()
        return [
            Cookie(name: tokenCookie, value: token, maxAge: lifetime, path: "/", secure: secure, httpOnly: true, sameSite: .strict),
            Cookie(name: csrfCookie, value: csrf, maxAge: lifetime, path: "/", secure: secure, httpOnly: false, sameSite: .strict),
        ]
    }

    /// Cookies that end the session.
    static func cleared(secure: Bool) -> [Cookie] {
        [tokenCookie, csrfCookie].map { Cookie(name: $0, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: $0 == tokenCookie, sameSite: .strict) }
    }

    /// Refuses a request another origin made: its `Origin`, when sent, must be this server.
    static func checkOrigin(_ request: Request) throws {
        guard let origin = request.headers[.origin] else { return }
        let host = request.head.authority ?? ""
        guard let url = URL(string: origin), let originHost = url.host else {
            throw APIError.forbidden("cross-site request refused: Origin \(origin) is not this server")
        }
        let port = url.port.map { ":\($0)" } ?? ""
        let bracketed = originHost.contains(":") ? "[\(originHost)]" : originHost
        guard "\(bracketed)\(port)" == host || bracketed == host else {
            throw APIError.forbidden("cross-site request refused: Origin \(origin) is not this server")
        }
    }

    /// A write made with the session cookie must come from the console's own page: the same origin, and the CSRF
    /// cookie's value echoed in `X-Intermesh-CSRF` (another site can make the browser send the cookie, not read it).
    static func checkWrite(_ request: Request) throws {
        try checkOrigin(request)
        guard let expected = request.cookies[csrfCookie]?.value, !expected.isEmpty, let sent = request.headers[csrfHeader],
              constantTimeEqual(Array(expected.utf8), Array(sent.utf8)) else {
            throw APIError.forbidden("cross-site request refused: a console write must carry the X-Intermesh-CSRF header of its session")
        }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
