import Foundation

/// Serves a leader's recovery port: quorum requests when it coordinates, snapshots for joiners, status.
public final class ControlServer: @unchecked Sendable {
    static let pollSeconds = 2.0
    /// Connections served at once; past it new ones are closed at once (and counted).
    static let maxConnections = 64
    /// A connection must send its whole request within this.
    static let requestTimeout = 2.0

    let listener: Listener
    let room: CoordinatorRoom
    let box: SnapshotBox
    let joinTimeout: Double
    let key: DataPlaneKey?

    public var port: Int { listener.port }

    public init(port: Int, host: String = "0.0.0.0", key: DataPlaneKey? = nil, room: CoordinatorRoom, box: SnapshotBox, joinTimeout: Double) throws {
        listener = try Listener(port: port, host: host)
        self.key = key
        self.room = room
        self.box = box
        self.joinTimeout = joinTimeout
        listener.serve(name: "control-accept", timeout: Self.requestTimeout, limit: Self.maxConnections, refused: {
            DataPlaneRejections.record(port: "recovery", reason: "more than \(Self.maxConnections) connections at once")
        }, handle: { [weak self] socket in
            self?.serve(socket)
            return false
        })
    }

    public func stop() {
        listener.close()
    }

    private func serve(_ socket: Socket) {
        let request: ControlRequest
        do {
            request = try ControlRequest.read(from: socket, key: key)
        } catch is ControlRequest.Closed {
            return
        } catch {
            DataPlaneRejections.record(port: "recovery", reason: "\(error)")
            return
        }
        switch request {
        case let .join(step, member, failed, suspects):
            socket.setTimeout(30)
            // Short polls: the asking member checks for a stop signal between them.
            let answer = room.join(step: step, member: member, failed: failed, suspects: suspects, timeout: Self.pollSeconds)
            var writer = ByteWriter()
            switch answer {
            case let .quorum(quorum):
                writer.u8(0)
                writer.raw(ReplicaStatus(outerStep: step, quorum: quorum).encoded())
            case .missed:
                writer.u8(1)
            case .waiting:
                writer.u8(2)
            }
            try? ControlReply.send(writer.bytes, on: socket)
        case let .intend(step, member):
            room.intend(step: step, member: member)
            try? ControlReply.send([0], on: socket)
        case let .leave(member):
            room.leave(member: member)
            try? ControlReply.send([0], on: socket)
        case let .snapshot(after):
            socket.setTimeout(600)
            let found = box.wait(after: after, timeout: 300, stuckAfter: joinTimeout + 1)
            var writer = ByteWriter()
            if let (snapshot, quorum) = found {
                writer.raw(ReplicaStatus(outerStep: snapshot.outerStep, quorum: quorum).encoded())
                writer.raw(snapshot.encoded())
            }
            try? ControlReply.send(writer.bytes, on: socket)
        case .status:
            try? ControlReply.send(box.status.encoded(), on: socket)
        }
    }
}
