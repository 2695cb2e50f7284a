import Foundation

/// A member's ring port: accepts connections from ring predecessors and hands each to the all-reduce
/// of the quorum it announced, so successive quorums never mix their streams.
///
/// A connection must send its authenticated hello (`DataPlaneKey`) within `helloTimeout`; hellos are read off the
/// accept thread, at most `maxPending` at once, so silent or flooding connections cannot hold the port. The first
/// authenticated connection for a quorum and ring position is kept; a later one is refused, not swapped in.
public final class RingEndpoint: @unchecked Sendable {
    public static let magic: UInt32 = 0x494D_5247  // "IMRG"
    static let helloLength = 16 + DataPlaneKey.tagLength
    static let maxPending = 64

    let listener: Listener
    let condition = NSCondition()
    var waiting: [String: Socket] = [:]
    /// Quorum and position keys already taken by an all-reduce: a second hello for one is a replay.
    var used: Set<String> = []
    var stopped = false
    let helloTimeout: Double
    let key: DataPlaneKey?

    public var port: Int { listener.port }

    public init(port: Int, host: String = "0.0.0.0", key: DataPlaneKey? = nil, helloTimeout: Double = 1) throws {
        listener = try Listener(port: port, host: host)
        self.key = key
        self.helloTimeout = helloTimeout
        listener.serve(name: "ring-accept", timeout: helloTimeout, limit: Self.maxPending, refused: {
            DataPlaneRejections.record(port: "ring", reason: "more than \(Self.maxPending) connections without a hello")
        }, handle: { [weak self] socket in self?.admit(socket) ?? false })
    }

    public func stop() {
        condition.lock()
        stopped = true
        waiting.removeAll()
        condition.broadcast()
        condition.unlock()
        listener.close()
    }

    /// Reads and checks a connection's hello; true when it is kept for its all-reduce.
    private func admit(_ socket: Socket) -> Bool {
        guard let hello = try? socket.receive(exactly: Self.helloLength) else {
            DataPlaneRejections.record(port: "ring", reason: "no hello within \(helloTimeout)s")
            return false
        }
        var reader = ByteReader(hello)
        guard (try? reader.u32()) == Self.magic, let quorum = try? reader.u64(), let from = try? reader.u32(),
              let tag = try? reader.raw(DataPlaneKey.tagLength),
              key.check(tag, Self.helloFields(quorum: quorum, from: Int(from))) else {
            DataPlaneRejections.record(port: "ring", reason: "a hello without a valid tag")
            return false
        }
        let key = "\(quorum):\(from)"
        condition.lock()
        let duplicate = waiting[key] != nil || used.contains(key)
        if !duplicate {
            waiting[key] = socket
            condition.broadcast()
        }
        condition.unlock()
        if duplicate { DataPlaneRejections.record(port: "ring", reason: "a second connection for quorum \(quorum), position \(from)") }
        return !duplicate
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
        used = used.filter { (UInt64($0.split(separator: ":")[0]) ?? 0) >= quorum }
        if used.count > 256 { used.removeAll() }
        guard let socket = waiting.removeValue(forKey: key) else { return nil }
        used.insert(key)
        // The hello had a short deadline; the ring's messages get the all-reduce's.
        socket.setTimeout(timeout)
        return socket
    }

    static func helloFields(quorum: UInt64, from: Int) -> [UInt8] {
        var writer = ByteWriter()
        writer.u32(magic)
        writer.u64(quorum)
        writer.u32(UInt32(from))
        return writer.bytes
    }

    static func hello(quorum: UInt64, from: Int, key: DataPlaneKey?) -> [UInt8] {
        let fields = helloFields(quorum: quorum, from: from)
        return fields + key.seal(fields)
    }
}
