import Foundation
import IntermeshAPI
import IntermeshControl
import Testing
@testable import IntermeshCLI

/// The live view of `intermesh up` as a user sees it when output is not a terminal (no colour, no redraw).
@Suite struct UpViewTests {
    static let now = Date(timeIntervalSince1970: 1_796_000_000)

    static func member(_ slot: String, step: Int, loss: Double, acknowledged: Int, active: Int) -> MemberRecord {
        var record = MemberRecord(id: "\(slot.replacingOccurrences(of: "/", with: "-"))-0000-1111", site: String(slot.split(separator: "/")[0]),
                                  slot: slot, state: .training, outerStep: step, lastHeartbeat: now)
        record.loss = loss
        record.tokensPerSecond = 4100
        record.acknowledged = acknowledged
        record.activeRevision = active
        return record
    }

    static func snapshot() -> UpSnapshot {
        var rollout = Rollout(revision: 2, from: 1, strategy: .hot, summary: "4 changes: 4 hot", appliedBy: "admin:up", startedAt: now)
        rollout.phase = .activating
        rollout.activationStep = 11
        return UpSnapshot(
            run: "local-demo", phase: .running, revision: 2, outerStep: 9,
            conditions: [RunCondition(type: "Available", status: true, reason: "Quorum", message: "", observedGeneration: 2)],
            desired: [("alpha", ["alpha/0"]), ("beta", ["beta/0"]), ("gamma", ["gamma/0"])],
            members: [member("alpha/0", step: 9, loss: 1.876, acknowledged: 2, active: 1), member("beta/0", step: 9, loss: 1.972, acknowledged: 1, active: 1)],
            quarantined: ["gamma/0"], events: [], rollout: rollout)
    }

    @Test func tableShowsReplicasRevisionsAndTheRollout() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let view = UpView(terminal: Terminal(descriptor: fds[1]))
        try expectGolden(view.table(Self.snapshot()).joined(separator: "\n") + "\n", "up-table.txt")
        #expect(view.statusLine(Self.snapshot()) == "outer step 9 | 2/3 replicas live | quorum 2 | loss alpha/0=1.876 beta/0=1.972")
    }

    @Test func quorumSizeIgnoresMembersAMomentApartButNotRecoveringOnes() {
        var snapshot = Self.snapshot()
        snapshot.members.append(Self.member("gamma/0", step: 10, loss: 2, acknowledged: 1, active: 1))
        #expect(snapshot.quorumSize == 3, "two report step 9, one step 10 already")
        snapshot.members[0].state = .recovering
        #expect(snapshot.quorumSize == 2)
    }

    @Test func rolloutTextFollowsThePhase() {
        var snapshot = Self.snapshot()
        #expect(snapshot.rolloutText == "revision 2 hot, activating at outer step 11: 1/2 acknowledged")
        snapshot.rollout?.phase = .complete
        #expect(snapshot.rolloutText == "revision 2 hot, complete")
        snapshot.rollout = nil
        #expect(snapshot.rolloutText == "none")
    }
}
