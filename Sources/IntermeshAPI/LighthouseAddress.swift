import Foundation

/// Where torchft engines find the control plane's Lighthouse endpoint: the host they reach the API on, at the port the
/// control plane announces to agents.
public struct LighthouseAddress: Sendable, Equatable, CustomStringConvertible {
    /// The host, an IPv6 address without its brackets.
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        self.port = port
    }

    /// The host of the API's URL (`http://HOST:APIPORT`, any path) at `port`; nil when the URL has no host or the
    /// port is not one.
    public init?(server: String, port: Int) {
        guard (1...65535).contains(port), let host = URLComponents(string: server)?.host, !host.isEmpty else { return nil }
        self.init(host: host, port: port)
    }

    /// `HOST:PORT`, an IPv6 host in brackets.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `http://HOST:PORT`, what torchft's `TORCHFT_LIGHTHOUSE` takes.
    public var url: String { "http://\(description)" }

    /// `http://HOST:PORT` from the API's URL; nil when the URL has no host.
    public static func url(server: String, port: Int) -> String? {
        LighthouseAddress(server: server, port: port)?.url
    }
}
