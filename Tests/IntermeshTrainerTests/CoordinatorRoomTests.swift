import Foundation
import Testing
@testable import IntermeshTrainer

/// The coordinator's rules, each as a small scenario with threads standing in for members.
@Suite struct CoordinatorRoomTests {
    func room(peers: Int = 3, min: Int = 2, timeout: Double = 0.5, probe: (@Sendable (Int) -> Bool)? = nil) -> CoordinatorRoom {
        CoordinatorRoom(peerCount: peers, minReplicas: min, joinTimeout: timeout, previous: Set(0..<peers), lastId: 0, probe: probe)
    }

    /// Members join concurrently; returns each one's answer.
    func join(_ room: CoordinatorRoom, step: Int, members: [Int], failed: UInt64? = nil, timeout: Double = 5) -> [Int: CoordinatorRoom.Answer] {
        nonisolated(unsafe) var answers: [Int: CoordinatorRoom.Answer] = [:]
        let lock = NSLock()
        let group = DispatchGroup()
        for member in members {
            group.enter()
            Thread {
                let answer = room.join(step: step, member: member, failed: failed, suspects: [], timeout: timeout)
                lock.lock()
                answers[member] = answer
                lock.unlock()
                group.leave()
            }.start()
        }
        group.wait()
        return answers
    }

    @Test func fastQuorumWhenEveryPreviousMemberAsks() {
        let room = room(timeout: 30)
        let start = Date()
        let answers = join(room, step: 1, members: [0, 1, 2])
        #expect(Set(answers.values) == [.quorum(Quorum(id: 1, step: 1, members: [0, 1, 2]))])
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func aMissingMemberIsWaitedForUpToTheJoinTimeout() {
        let room = room(timeout: 0.5)
        let start = Date()
        let answers = join(room, step: 1, members: [0, 1])
        #expect(Set(answers.values) == [.quorum(Quorum(id: 1, step: 1, members: [0, 1]))])
        #expect(Date().timeIntervalSince(start) >= 0.5)
    }

    @Test func aDeadMemberFoundByTheProbeIsNotWaitedFor() {
        let room = room(timeout: 30, probe: { $0 != 2 })
        let start = Date()
        let answers = join(room, step: 1, members: [0, 1])
        #expect(Set(answers.values) == [.quorum(Quorum(id: 1, step: 1, members: [0, 1]))])
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func noQuorumBelowMinReplicasOrWithoutAMajority() {
        let lonely = room(peers: 3, min: 1, timeout: 0.2)
        #expect(join(lonely, step: 1, members: [0], timeout: 1) == [0: .waiting])
        let strict = room(peers: 4, min: 3, timeout: 0.2)
        #expect(Set(join(strict, step: 1, members: [0, 1], timeout: 1).values) == [.waiting])
    }

    @Test func aLateMemberMissesTheStep() {
        let room = room(timeout: 0.2)
        _ = join(room, step: 1, members: [0, 1])
        #expect(room.join(step: 1, member: 2, failed: nil, suspects: [], timeout: 1) == .missed(1))
    }

    @Test func aJoinerAnnouncedForAStepIsWaitedFor() {
        let room = room(peers: 3, timeout: 0.2)
        _ = join(room, step: 1, members: [0, 1])
        room.intend(step: 2, member: 2)
        let answers = join(room, step: 2, members: [0, 1, 2])
        #expect(Set(answers.values) == [.quorum(Quorum(id: 2, step: 2, members: [0, 1, 2]))])
    }

    @Test func aFailedQuorumIsFormedAgainWithAHigherId() {
        let room = room(timeout: 0.3, probe: { $0 != 2 })
        _ = join(room, step: 1, members: [0, 1, 2])
        let retry = join(room, step: 1, members: [0, 1], failed: 1)
        #expect(Set(retry.values) == [.quorum(Quorum(id: 2, step: 1, members: [0, 1]))])
        // A retry naming an older quorum does not tear down the new one.
        #expect(room.join(step: 1, member: 0, failed: 1, suspects: [], timeout: 1) == .quorum(Quorum(id: 2, step: 1, members: [0, 1])))
    }

    @Test func aDeathrattleIsNotWaitedFor() {
        let room = room(timeout: 30)
        room.leave(member: 2)
        let start = Date()
        #expect(Set(join(room, step: 1, members: [0, 1]).values) == [.quorum(Quorum(id: 1, step: 1, members: [0, 1]))])
        #expect(Date().timeIntervalSince(start) < 5)
    }
}

extension CoordinatorRoom.Answer: Hashable {
    public func hash(into hasher: inout Hasher) {
        switch self {
        case let .quorum(q): hasher.combine(q.id); hasher.combine(q.members)
        case let .missed(step): hasher.combine(step)
        case .waiting: hasher.combine(-1)
        }
    }
}
