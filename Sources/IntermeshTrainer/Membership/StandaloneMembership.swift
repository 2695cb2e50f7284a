import Foundation
import IntermeshAPI

/// A replica leader's address for control requests.
public struct PeerAddress: Sendable, Hashable {
    public var index: Int
    public var id: String
    public var host: String
    public var controlPort: Int
    public var ringPort: Int

    /// As the control plane hears of it in heartbeats.
    public var memberAddress: MemberAddress {
        MemberAddress(host: host, ringPort: ringPort, controlPort: controlPort)
    }
}

/// Membership from a static list of peers, without a control plane. The coordinator of a step is the
/// lowest-indexed live member of the last quorum this replica knows (all of that quorum's members pick the
/// same one); when it dies, the next one takes over, seeded with its own view of the last quorum.
public final class StandaloneMembership: Membership, @unchecked Sendable {
    let peers: [PeerAddress]
    let me: Int
    let room: CoordinatorRoom
    let joinTimeout: Double
    let lock = NSLock()
    var lastMembers: [Int]
    /// Checked between polls: a stop signal ends a wait for a quorum.
    let shouldStop: @Sendable () -> Bool
    /// Tags this member's control requests to its peers.
    let key: DataPlaneKey?

    public init(peers: [PeerAddress], me: Int, room: CoordinatorRoom, joinTimeout: Double, key: DataPlaneKey? = nil,
                shouldStop: @escaping @Sendable () -> Bool = { false }) {
        self.key = key
        self.peers = peers
        self.me = me
        self.room = room
        self.joinTimeout = joinTimeout
        self.shouldStop = shouldStop
        lastMembers = peers.map(\.index)
    }

    /// Coordinator candidates in order: the last quorum's members, then every other peer.
    var candidates: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return lastMembers.sorted() + peers.map(\.index).filter { !lastMembers.contains($0) }
    }

    public func join(step: Int, failed: Quorum?, suspects: [Int]) throws -> Quorum {
        let deadline = Date().addingTimeInterval(max(600, 10 * joinTimeout))
        var unreachable: Set<Int> = []
        while Date() < deadline {
            if shouldStop() { throw MembershipError.stopped }
            var waited = false
            for candidate in candidates where !unreachable.contains(candidate) || candidate == me {
                let answer: CoordinatorRoom.Answer
                if candidate == me {
                    answer = room.join(step: step, member: me, failed: failed?.id, suspects: suspects, timeout: ControlServer.pollSeconds)
                } else {
                    let peer = peers[candidate]
                    let request = ControlRequest.join(step: step, member: me, failed: failed?.id, suspects: suspects)
                    guard let reply = try? ControlReply.call(host: peer.host, port: peer.controlPort, request, key: key, timeout: ControlServer.pollSeconds + 10),
                          !reply.isEmpty else {
                        unreachable.insert(candidate)
                        continue
                    }
                    var reader = ByteReader(reply)
                    switch try reader.u8() {
                    case 0: answer = .quorum(try ReplicaStatus(from: &reader).quorum!)
                    case 1: answer = .missed(step)
                    default: answer = .waiting
                    }
                }
                switch answer {
                case let .quorum(quorum): return quorum
                case .missed: throw MembershipError.missedStep(step)
                case .waiting: waited = true
                }
                break
            }
            if !waited {
                // Nobody answered: peers may still be starting.
                unreachable = []
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        throw MembershipError.noQuorum("no coordinator formed a quorum for outer step \(step)")
    }

    public func intend(step: Int) throws {
        for candidate in candidates {
            if candidate == me {
                room.intend(step: step, member: me)
                return
            }
            let peer = peers[candidate]
            if (try? ControlReply.call(host: peer.host, port: peer.controlPort, .intend(step: step, member: me), key: key, timeout: 5)) != nil {
                return
            }
        }
        throw MembershipError.noQuorum("no peer took the announcement for outer step \(step)")
    }

    public func leave() {
        room.leave(member: me)
        // Any peer may coordinate next: tell them all, briefly.
        for peer in peers where peer.index != me {
            _ = try? ControlReply.call(host: peer.host, port: peer.controlPort, .leave(member: me), key: key, timeout: 1)
        }
    }

    public func completed(_ quorum: Quorum) {
        lock.lock()
        lastMembers = quorum.members
        lock.unlock()
        room.seed(previous: Set(quorum.members), lastId: quorum.id)
    }

    public func donors(newerThan step: Int) -> [(peer: Int, outerStep: Int)] {
        let statuses = peers.filter { $0.index != me }.compactMap { peer in status(of: peer.index).map { (peer.index, $0.outerStep) } }
        guard let newest = statuses.map(\.1).max(), newest > step else { return [] }
        return statuses.filter { $0.1 == newest }.map { (peer: $0.0, outerStep: $0.1) }
    }

    public func report(state: MemberState, outerStep: Int) {}

    public func peer(_ index: Int) -> PeerAddress { peers[index] }

    /// What a peer last completed, for recovery decisions; nil when it does not answer.
    public func status(of peer: Int, timeout: Double = 2) -> ReplicaStatus? {
        let address = peers[peer]
        guard let reply = try? ControlReply.call(host: address.host, port: address.controlPort, .status, key: key, timeout: timeout) else { return nil }
        return try? ReplicaStatus(decoding: reply)
    }

}

/// Live recovery over a leader's control port: the same for both membership modes.
public enum SnapshotClient {
    /// Pulls the snapshot of a peer's first outer step completed after `after` (waiting for it).
    public static func pull(from address: PeerAddress, after: Int, key: DataPlaneKey?) throws -> (TrainerSnapshot, Quorum?) {
        let reply = try ControlReply.call(host: address.host, port: address.controlPort, .snapshot(after: after), key: key, timeout: 600)
        guard !reply.isEmpty else { throw MembershipError.noQuorum("\(address.id) has no snapshot newer than step \(after)") }
        var reader = ByteReader(reply)
        let status = try ReplicaStatus(from: &reader)
        let snapshot = try TrainerSnapshot(decoding: try reader.raw(reader.remaining))
        return (snapshot, status.quorum)
    }
}

extension CoordinatorRoom {
    /// Brings a room that has not coordinated up to date with the last quorum its replica completed.
    func seed(previous members: Set<Int>, lastId: UInt64) {
        condition.lock()
        room.adopt(previous: members, lastId: lastId)
        condition.unlock()
    }
}
