import Crypto
import Foundation
import Synchronization

/// The run's data-plane secret: every ring hello, ring message and control request carries a 16-byte HMAC-SHA256
/// tag under it, bound to what it is (the quorum, the sender's ring position, the message's place in the ring, the
/// request's time), so a process that reaches a replica's ports without the secret cannot join a ring, inject a
/// chunk, replay one from another quorum or step, or ask for a snapshot. Managed replicas get it from the control
/// plane (`GET /v1/runs/R/sites/S/data-key`, agent tokens only); standalone runs from `$INTERMESH_DATA_KEY` (hex),
/// and without it they authenticate nothing, as before. The key is handed to what uses it (the ring endpoint, the
/// all-reduce, the control server and its clients); a nil key seals with zeros and checks nothing.
public struct DataPlaneKey: Sendable {
    let secret: [UInt8]
    var key: SymmetricKey { SymmetricKey(data: secret) }
    public static let tagLength = 16

    public init?(hex: String) {
        let text = hex.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.count >= 32, text.count % 2 == 0, text.allSatisfy(\.isHexDigit) else { return nil }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        secret = bytes
    }

    func mac(_ parts: [[UInt8]]) -> [UInt8] {
        var mac = HMAC<SHA256>(key: key)
        for part in parts { mac.update(data: part) }
        return Array(Array(mac.finalize()).prefix(Self.tagLength))
    }

    static func bytes(_ values: UInt64...) -> [UInt8] {
        var writer = ByteWriter()
        values.forEach { writer.u64($0) }
        return writer.bytes
    }
}

extension DataPlaneKey? {
    /// The tag of `parts`; zeros without a key.
    func seal(_ parts: [UInt8]...) -> [UInt8] {
        self?.mac(parts) ?? [UInt8](repeating: 0, count: DataPlaneKey.tagLength)
    }

    /// Whether `tag` is the tag of `parts`, compared in constant time; always true without a key.
    func check(_ tag: [UInt8], _ parts: [UInt8]...) -> Bool {
        guard let key = self else { return true }
        let expected = key.mac(parts)
        guard tag.count == expected.count else { return false }
        return zip(tag, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// Connections a replica's ports refused (no valid tag, a replay, a duplicate, a silent or flooding peer), for its
/// log and its heartbeats: the control plane turns them into a metric and events.
public enum DataPlaneRejections {
    private static let count = Mutex(0)

    public static var total: Int { count.withLock { $0 } }

    static func record(port: String, reason: String) {
        count.withLock { $0 += 1 }
        TrainerLog.emit("rejected", ["port": port, "reason": reason])
    }
}
