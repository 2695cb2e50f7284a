import Foundation

/// Requests a replica leader answers on its recovery port: quorum coordination (standalone mode),
/// live recovery, status.
enum ControlRequest {
    case join(step: Int, member: Int, failed: UInt64?, suspects: [Int])
    case intend(step: Int, member: Int)
    case leave(member: Int)
    /// The snapshot once this leader has completed an outer step after `after` (a long poll).
    case snapshot(after: Int)
    case status

    static let magic: UInt32 = 0x494D_4354  // "IMCT"

    func encoded(key: DataPlaneKey?, now: Date = Date()) -> [UInt8] {
        var body = ByteWriter()
        switch self {
        case let .join(step, member, failed, suspects):
            body.u8(1)
            body.u64(UInt64(step))
            body.u32(UInt32(member))
            body.u64(failed ?? 0)
            body.u32(UInt32(suspects.count))
            suspects.forEach { body.u32(UInt32($0)) }
        case let .intend(step, member):
            body.u8(2)
            body.u64(UInt64(step))
            body.u32(UInt32(member))
        case let .leave(member):
            body.u8(3)
            body.u32(UInt32(member))
        case let .snapshot(after):
            body.u8(4)
            body.u64(UInt64(bitPattern: Int64(after)))
        case .status:
            body.u8(5)
        }
        // Sent at `time` (ms since 1970) and tagged with the run's data-plane key: a request is only good for a few
        // minutes, and only from a member.
        var framed = ByteWriter()
        framed.u32(Self.magic)
        framed.u32(UInt32(body.bytes.count))
        framed.u64(UInt64(max(0, now.timeIntervalSince1970) * 1000))
        framed.raw(body.bytes)
        framed.raw(key.seal(framed.bytes))
        return framed.bytes
    }

    /// How far a request's time may be from the receiver's clock.
    static let maxSkew: Double = 300

    /// A connection closed before it sent anything: a liveness probe, not an attempt.
    struct Closed: Error {}

    static func read(from socket: Socket, key: DataPlaneKey?) throws -> ControlRequest {
        let head: [UInt8]
        do {
            head = try socket.receive(exactly: 16)
        } catch let failure as Socket.Failure where failure.description == Socket.closedByPeer && socket.bytesReceived == 0 {
            throw Closed()
        }
        var header = ByteReader(head)
        guard try header.u32() == magic else { throw ByteReader.Failure(description: "not a control request") }
        let length = Int(try header.u32())
        guard length <= 1 << 20 else { throw ByteReader.Failure(description: "request of \(length) bytes") }
        let sent = Double(try header.u64()) / 1000
        let body = try socket.receive(exactly: length)
        let tag = try socket.receive(exactly: DataPlaneKey.tagLength)
        guard key.check(tag, head + body) else { throw ByteReader.Failure(description: "a request without a valid tag") }
        guard abs(Date().timeIntervalSince1970 - sent) <= maxSkew else {
            throw ByteReader.Failure(description: "a request sent \(Int(Date().timeIntervalSince1970 - sent)) s ago (a replay, or a clock off by that)")
        }
        var reader = ByteReader(body)
        switch try reader.u8() {
        case 1:
            let step = Int(try reader.u64()), member = Int(try reader.u32()), failed = try reader.u64()
            let count = Int(try reader.u32())
            guard count <= 1 << 16 else { throw ByteReader.Failure(description: "too many suspects") }
            let suspects = try (0..<count).map { _ in Int(try reader.u32()) }
            return .join(step: step, member: member, failed: failed == 0 ? nil : failed, suspects: suspects)
        case 2: return .intend(step: Int(try reader.u64()), member: Int(try reader.u32()))
        case 3: return .leave(member: Int(try reader.u32()))
        case 4: return .snapshot(after: Int(Int64(bitPattern: try reader.u64())))
        case 5: return .status
        case let kind: throw ByteReader.Failure(description: "unknown request kind \(kind)")
        }
    }
}

/// A leader's view for STATUS answers and new coordinators: its last completed step and quorum.
public struct ReplicaStatus: Sendable, Equatable {
    public var outerStep: Int
    public var quorum: Quorum?

    func encoded() -> [UInt8] {
        var writer = ByteWriter()
        writer.u64(UInt64(bitPattern: Int64(outerStep)))
        writer.u64(quorum?.id ?? 0)
        writer.u64(UInt64(quorum?.step ?? 0))
        let members = quorum?.members ?? []
        writer.u32(UInt32(members.count))
        members.forEach { writer.u32(UInt32($0)) }
        return writer.bytes
    }

    init(outerStep: Int, quorum: Quorum?) {
        self.outerStep = outerStep
        self.quorum = quorum
    }

    init(decoding bytes: [UInt8]) throws {
        var reader = ByteReader(bytes)
        try self.init(from: &reader)
    }

    init(from reader: inout ByteReader) throws {
        outerStep = Int(Int64(bitPattern: try reader.u64()))
        let id = try reader.u64(), step = Int(try reader.u64())
        let count = Int(try reader.u32())
        guard count <= 1 << 20 else { throw ByteReader.Failure(description: "too many members") }
        let members = try (0..<count).map { _ in Int(try reader.u32()) }
        quorum = id == 0 ? nil : Quorum(id: id, step: step, members: members)
    }
}

/// Length-prefixed answers.
enum ControlReply {
    static func send(_ payload: [UInt8], on socket: Socket) throws {
        var writer = ByteWriter(capacity: payload.count + 8)
        writer.u64(UInt64(payload.count))
        writer.raw(payload)
        try socket.send(writer.bytes)
    }

    static func read(from socket: Socket, limit: Int = 1 << 31) throws -> [UInt8] {
        var header = ByteReader(try socket.receive(exactly: 8))
        let length = Int(try header.u64())
        guard length <= limit else { throw ByteReader.Failure(description: "reply of \(length) bytes") }
        return try socket.receive(exactly: length)
    }

    /// One request, one reply, on a fresh connection.
    static func call(host: String, port: Int, _ request: ControlRequest, key: DataPlaneKey?, timeout: Double, connectFor: Double = 0) throws -> [UInt8] {
        let socket = try Socket.connect(host: host, port: port, timeout: timeout, retryFor: connectFor)
        defer { socket.close() }
        try socket.send(request.encoded(key: key))
        return try read(from: socket)
    }
}
