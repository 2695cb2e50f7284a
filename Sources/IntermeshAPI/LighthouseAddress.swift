import Foundation

/// Where torchft engines find the control plane's Lighthouse endpoint: the host they reach the API on, at the port the
/// control plane announces to agents.
public enum LighthouseAddress {
    /// `http://HOST:PORT` from the API's URL (`http://HOST:APIPORT`, any path); nil when the URL has no host.
    public static func url(server: String, port: Int) -> String? {
        guard (1...65535).contains(port), let host = URLComponents(string: server)?.host, !host.isEmpty else { return nil }
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "http://\(bracketed):\(port)"
    }
}
