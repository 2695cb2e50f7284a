import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a replica's ports listen: the address the plan names for its host, so they are not open on every interface.
/// `localhost` and 127.x are loopback; a name or address resolves to its IPv4 address when that is this machine's;
/// anything else (a name this machine cannot bind, a name that resolves to loopback) falls back to all interfaces.
enum BindAddress {
    static func resolve(_ host: String) -> String {
        if host == "localhost" { return "127.0.0.1" }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &info) == 0, let first = info else { return "0.0.0.0" }
        defer { freeaddrinfo(info) }
        var address = first.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        guard inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(INET_ADDRSTRLEN)) != nil else { return "0.0.0.0" }
        let resolved = String(cString: text)
        // Debian maps the machine's own name to 127.0.1.1: peers on other machines reach that name at another
        // address, so a name (not a loopback literal) that resolves to loopback listens on every interface.
        if resolved.hasPrefix("127."), !host.hasPrefix("127.") { return "0.0.0.0" }
        return canBind(resolved) ? resolved : "0.0.0.0"
    }

    /// Whether a socket can bind this address here (it is one of this machine's).
    static func canBind(_ address: String) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = 0
        guard inet_pton(AF_INET, address, &target.sin_addr) == 1 else { return false }
        return withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
