import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP socket with deadlines: every read and write fails after `timeout` instead of hanging.
public final class Socket: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    static let closedByPeer = "peer closed the connection"

    let fd: Int32
    public private(set) var bytesSent = 0
    public private(set) var bytesReceived = 0

    init(fd: Int32, timeout: Double) {
        self.fd = fd
        var yes: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
        setTimeout(timeout)
    }

    deinit { close() }

    private let closeLock = NSLock()
    private var closed = false

    /// Closes once: a second close could hit a descriptor number already reused by another socket.
    public func close() {
        closeLock.lock()
        defer { closeLock.unlock() }
        guard !closed else { return }
        closed = true
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }

    public func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Connects to host:port, retrying until `deadline` seconds have passed (the peer may still be starting).
    public static func connect(host: String, port: Int, timeout: Double, retryFor deadline: Double = 0) throws -> Socket {
        let until = Date().addingTimeInterval(deadline)
        var lastError = "refused"
        repeat {
            var hints = addrinfo()
            hints.ai_family = AF_INET
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var info: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &info) == 0, let first = info else {
                throw Failure(description: "cannot resolve \(host)")
            }
            defer { freeaddrinfo(info) }
            let fd = Glibc.socket(first.pointee.ai_family, first.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), first.pointee.ai_protocol)
            guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
            let socket = Socket(fd: fd, timeout: timeout)
            if Glibc.connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 { return socket }
            lastError = String(cString: strerror(errno))
            socket.close()
            if Date() < until { usleep(50_000) }
        } while Date() < until
        throw Failure(description: "connect to \(host):\(port): \(lastError)")
    }

    public func send(_ data: [UInt8]) throws {
        var offset = 0
        try data.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { throw Failure(description: "send: \(n == 0 ? "closed" : String(cString: strerror(errno)))") }
                offset += n
            }
        }
        bytesSent += data.count
    }

    /// How fast this connection sent, as the kernel measured it: bytes the peer acknowledged per second of the time
    /// the connection had data in flight (Linux's TCP_INFO: bytes_acked over busy_time). It is the link's
    /// throughput toward the peer, not the program's pace. The kernel counts busy time in milliseconds: a connection
    /// busy for less than `minimumBusy` (a fast link, a small model) is too short to time, and gives nil, as does a
    /// kernel that reports neither.
    public func sendRate(minimumBusy: Double = 0.01) -> Double? {
        tcpInfo().flatMap { Self.sendRate(tcpInfo: $0, minimumBusy: minimumBusy) }
    }

    /// The kernel's TCP_INFO of this connection, as bytes; nil when it has none (or too old a layout).
    func tcpInfo() -> [UInt8]? {
        var info = [UInt8](repeating: 0, count: 256)
        var length = socklen_t(info.count)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0, length >= 176 else { return nil }
        return Array(info.prefix(Int(length)))
    }

    /// struct tcp_info (linux/tcp.h): tcpi_bytes_acked (u64) at byte 120, tcpi_busy_time (u64, microseconds) at 168.
    static func sendRate(tcpInfo info: [UInt8], minimumBusy: Double) -> Double? {
        guard info.count >= 176 else { return nil }
        func u64(_ offset: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(info[offset + $1]) << (8 * UInt64($1)) } }
        let acked = u64(120), busy = Double(u64(168)) / 1_000_000
        guard acked > 0, busy > 0, busy >= minimumBusy else { return nil }
        return Double(acked) / busy
    }

    public func receive(exactly count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var offset = 0
        try buffer.withUnsafeMutableBytes { raw in
            while offset < count {
                let n = Glibc.recv(fd, raw.baseAddress! + offset, count - offset, 0)
                if n == 0 { throw Failure(description: Self.closedByPeer) }
                if n < 0 {
                    let reason = errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : String(cString: strerror(errno))
                    throw Failure(description: "receive: \(reason)")
                }
                offset += n
            }
        }
        bytesReceived += count
        return buffer
    }
}

/// A listening TCP socket on all interfaces (or loopback).
public final class Listener: @unchecked Sendable {
    let fd: Int32
    public let port: Int

    public init(port: Int, host: String = "0.0.0.0") throws {
        // Close-on-exec: a process the engine starts (a crash reporter among them) must not keep its ports open.
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.fd = fd
        guard fd >= 0 else { throw Socket.Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw Socket.Failure(description: "listen on port \(port): \(reason)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: actual.sin_port))
    }

    deinit { close() }

    private let lock = NSLock()
    private var closed = false

    /// Closes once: a second close could hit a descriptor number already reused by another socket.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }

    var isClosed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return closed
    }

    /// Accepts connections on a thread of its own until the listener is closed. Each goes to `handle` on a thread
    /// of its own (and is closed after, unless `handle` keeps it) while fewer than `limit` are being handled; past that it is closed at once
    /// and `refused` is told, so a flood of connections cannot hold the port. A failed accept (the file limit
    /// reached) waits 50 ms before the next.
    public func serve(name: String, timeout: Double, limit: Int, refused: @escaping @Sendable () -> Void,
                      handle: @escaping @Sendable (Socket) -> Bool) {
        let active = Mutex(0)
        let thread = Thread { [weak self] in
            while let self {
                guard let socket = self.accept(timeout: timeout) else {
                    if self.isClosed { return }
                    usleep(50_000)
                    continue
                }
                guard active.withLock({ count in
                    guard count < limit else { return false }
                    count += 1
                    return true
                }) else {
                    socket.close()
                    refused()
                    continue
                }
                Thread {
                    if !handle(socket) { socket.close() }
                    active.withLock { $0 -= 1 }
                }.start()
            }
        }
        thread.name = name
        thread.start()
    }

    /// Waits for the next connection; nil once the listener is closed (or when an accept fails).
    public func accept(timeout: Double) -> Socket? {
        let client = Glibc.accept(fd, nil, nil)
        guard client >= 0 else { return nil }
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        return Socket(fd: client, timeout: timeout)
    }
}
