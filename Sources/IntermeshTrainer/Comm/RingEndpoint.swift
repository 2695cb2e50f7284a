import Foundation

/// A member's ring port: accepts connections from ring predecessors and hands each to the all-reduce
/// of the quorum it announced, so successive quorums never mix their streams.
public final class RingEndpoint: @unchecked Sendable {
    public static let magic: UInt32 = 0x494D_5247  // "IMRG"

    let listener: Listener
    let condition = NSCondition()
    var waiting: [String: Socket] = [:]
    var stopped = false
    let handshakeTimeout: Double

    public var port: Int { listener.port }

    public init(port: Int, host: String = "0.0.0.0", handshakeTimeout: Double = 5) throws {
        listener = try Listener(port: port, host: host)
        self.handshakeTimeout = handshakeTimeout
        let thread = Thread { [weak self] in self?.acceptLoop() }
        thread.name = "ring-accept"
        thread.start()
    }

    public func stop() {
        condition.lock()
        stopped = true
        waiting.removeAll()
        condition.broadcast()
        condition.unlock()
        listener.close()
    }

    private func acceptLoop() {
        while true {
            guard let socket = listener.accept(timeout: handshakeTimeout) else {
                condition.lock()
                let done = stopped
                condition.unlock()
                if done { return }
                continue
            }
            // The hello names the quorum and the sender's position in its ring.
            guard let hello = try? socket.receive(exactly: 16) else { continue }
            var reader = ByteReader(hello)
            guard (try? reader.u32()) == Self.magic, let quorum = try? reader.u64(), let from = try? reader.u32() else { continue }
            condition.lock()
            waiting["\(quorum):\(from)"] = socket
            condition.broadcast()
            condition.unlock()
        }
    }

    /// The connection from ring position `from` for `quorum`, waiting up to `timeout` seconds.
    func take(quorum: UInt64, from: Int, timeout: Double) -> Socket? {
        let key = "\(quorum):\(from)"
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while waiting[key] == nil, !stopped {
            if !condition.wait(until: deadline) { break }
        }
        // Older quorums' connections will never be used.
        for stale in waiting.keys where (UInt64(stale.split(separator: ":")[0]) ?? 0) < quorum { waiting[stale] = nil }
        return waiting.removeValue(forKey: key)
    }

    static func hello(quorum: UInt64, from: Int) -> [UInt8] {
        var writer = ByteWriter()
        writer.u32(magic)
        writer.u64(quorum)
        writer.u32(UInt32(from))
        return writer.bytes
    }
}
