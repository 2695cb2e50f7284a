import Foundation
import Testing
@testable import IntermeshControl

/// The quorum room as a table: each case is a script of calls at given seconds and the answers they must give.
@Suite struct QuorumRoomTests {
    static let t0 = Date(timeIntervalSince1970: 1000)
    typealias Decision = QuorumRoom.Decision

    enum Op: Sendable {
        /// `member` asks for `step` at second `at`; expects the immediate answer (nil: it must wait).
        case join(Int, step: Int, at: TimeInterval, failed: UInt64? = nil, revision: (trained: Int, scheduled: Int)? = nil,
                  expect: QuorumRoom.Answer? = nil)
        /// `member`, waiting for `step`, polls at second `at` with `alive` members, `gone` ones and the plan's slots.
        case poll(Int, step: Int, at: TimeInterval, alive: Int = 3, gone: Set<Int> = [], planned: Set<Int> = [0, 1, 2],
                  expect: QuorumRoom.Answer, wake: TimeInterval? = nil)
        case intend(Int, step: Int)
        case leave(Int)
        case suspect(Set<Int>, step: Int)
        case missing(step: Int, expect: Set<Int>)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var previous: Set<Int>? = nil
        var lastId: UInt64 = 0
        var minReplicas = 2
        var ops: [Op]
        var testDescription: String { name }
    }

    static func formed(_ id: UInt64, _ step: Int, _ members: [Int]) -> QuorumRoom.Answer {
        .formed(Decision(id: id, step: step, members: members))
    }

    static let cases: [Case] = [
        Case(name: "before the first quorum every planned slot is expected; all asked: fast quorum", ops: [
            .join(0, step: 1, at: 0), .join(1, step: 1, at: 0), .poll(1, step: 1, at: 0, expect: .waiting, wake: 60),
            .join(2, step: 1, at: 1), .poll(2, step: 1, at: 1, expect: formed(1, 1, [0, 1, 2])),
            .poll(0, step: 1, at: 1, expect: formed(1, 1, [0, 1, 2])),
        ]),
        Case(name: "a missing member is waited for until the join timeout, then left out", previous: [0, 1, 2], ops: [
            .join(0, step: 4, at: 0), .join(1, step: 4, at: 1), .poll(1, step: 4, at: 59, expect: .waiting, wake: 60),
            .poll(1, step: 4, at: 60, expect: formed(1, 4, [0, 1])),
            .join(2, step: 4, at: 61, expect: .missed),
        ]),
        Case(name: "a member that stopped heartbeating is not waited for", previous: [0, 1, 2], ops: [
            .join(0, step: 2, at: 0), .join(1, step: 2, at: 0), .poll(0, step: 2, at: 0, alive: 2, gone: [2], expect: formed(1, 2, [0, 1])),
        ]),
        Case(name: "a joiner announced for a step is waited for; then it is in the ring", previous: [0, 1], ops: [
            .intend(2, step: 3), .join(0, step: 3, at: 0), .join(1, step: 3, at: 0),
            .poll(1, step: 3, at: 0, expect: .waiting, wake: 60), .join(2, step: 3, at: 2), .poll(2, step: 3, at: 2, expect: formed(1, 3, [0, 1, 2])),
        ]),
        Case(name: "a joiner announced for a later step does not hold this one", previous: [0, 1], ops: [
            .intend(2, step: 4), .join(0, step: 3, at: 0), .join(1, step: 3, at: 0), .poll(1, step: 3, at: 0, expect: formed(1, 3, [0, 1])),
        ]),
        Case(name: "below minReplicas nothing forms, even past the timeout", previous: [0, 1, 2], minReplicas: 2, ops: [
            .join(0, step: 1, at: 0), .poll(0, step: 1, at: 100, alive: 1, gone: [1, 2], expect: .waiting),
        ]),
        Case(name: "majority guard: two of five asking cannot form, whatever minReplicas says", previous: [0, 1, 2, 3, 4], minReplicas: 1, ops: [
            .join(0, step: 1, at: 0), .join(1, step: 1, at: 0), .poll(0, step: 1, at: 100, alive: 5, planned: [], expect: .waiting),
            .join(2, step: 1, at: 100), .poll(2, step: 1, at: 100, alive: 5, expect: formed(1, 1, [0, 1, 2])),
        ]),
        Case(name: "a failed all-reduce forms the step again with a higher id; an old failure report changes nothing", previous: [0, 1, 2], ops: [
            .join(0, step: 1, at: 0), .join(1, step: 1, at: 0), .join(2, step: 1, at: 0), .poll(2, step: 1, at: 0, expect: formed(1, 1, [0, 1, 2])),
            .join(0, step: 1, at: 1, failed: 1), .join(1, step: 1, at: 1, failed: 1),
            .poll(1, step: 1, at: 1, alive: 2, gone: [2], expect: formed(2, 1, [0, 1])),
            .join(0, step: 1, at: 2, failed: 1, expect: formed(2, 1, [0, 1])),
        ]),
        Case(name: "a deathrattle is not waited for; asking again undoes it", previous: [0, 1, 2], ops: [
            .leave(2), .join(0, step: 5, at: 0), .join(1, step: 5, at: 0), .poll(0, step: 5, at: 0, expect: formed(1, 5, [0, 1])),
            .join(2, step: 6, at: 1), .join(0, step: 6, at: 1), .poll(0, step: 6, at: 1, expect: .waiting, wake: 61),
        ]),
        Case(name: "a probe's suspects are not waited for, within the step only", previous: [0, 1, 2], ops: [
            .join(0, step: 1, at: 0), .missing(step: 1, expect: [1, 2]), .suspect([2], step: 1), .suspect([1], step: 9),
            .missing(step: 1, expect: [1]), .join(1, step: 1, at: 0), .poll(1, step: 1, at: 0, expect: formed(1, 1, [0, 1])),
        ]),
        Case(name: "ids continue above a seeded id (a restarted control plane)", lastId: 7 << 8, ops: [
            .join(0, step: 7, at: 0), .join(1, step: 7, at: 0), .join(2, step: 7, at: 0), .poll(0, step: 7, at: 0, expect: formed((7 << 8) + 1, 7, [0, 1, 2])),
        ]),
        Case(name: "a member that trained the step with another revision is not admitted; with the step's it is", previous: [0, 1], ops: [
            .join(0, step: 5, at: 0, revision: (2, 2)), .join(1, step: 5, at: 0, revision: (1, 2), expect: .stale(revision: 2)),
            .poll(0, step: 5, at: 1, expect: .waiting, wake: 60), .join(1, step: 5, at: 2, revision: (2, 2)),
            .poll(1, step: 5, at: 2, expect: formed(1, 5, [0, 1])),
        ]),
        Case(name: "a member left behind by a later step misses its own", previous: [0, 1], ops: [
            .join(0, step: 3, at: 0), .join(1, step: 4, at: 0), .poll(0, step: 3, at: 1, expect: .missed),
        ]),
    ]

    @Test(arguments: cases)
    func script(_ test: Case) {
        var room = QuorumRoom(previous: test.previous, lastId: test.lastId)
        let rules = QuorumRules(minReplicas: test.minReplicas, joinTimeout: 60)
        for (index, op) in test.ops.enumerated() {
            switch op {
            case let .join(member, step, at, failed, revision, expect):
                #expect(room.join(step: step, member: member, failed: failed, revision: revision, now: Self.t0.addingTimeInterval(at)) == expect,
                        "op \(index)")
            case let .poll(member, step, at, alive, gone, planned, expect, wake):
                let poll = room.poll(step: step, member: member, rules: rules, observation: .init(planned: planned, gone: gone, alive: alive),
                                     now: Self.t0.addingTimeInterval(at))
                #expect(poll.answer == expect, "op \(index)")
                #expect(poll.wakeAt == wake.map { Self.t0.addingTimeInterval($0) }, "op \(index)")
            case let .intend(member, step):
                room.intend(step: step, member: member)
            case let .leave(member):
                room.leave(member: member)
            case let .suspect(members, step):
                room.suspect(members, step: step)
            case let .missing(step, expect):
                #expect(room.missing(step: step) == expect, "op \(index)")
            }
        }
    }
}
