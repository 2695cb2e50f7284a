import Foundation
import Testing
@testable import IntermeshTrainer

/// What a donor hands a joiner that asks for the state after an outer step.
@Suite struct SnapshotBoxTests {
    func snapshot(_ step: Int) -> TrainerSnapshot {
        TrainerSnapshot(outerStep: step, innerStep: step * 10, quorumId: UInt64(step), revision: "sha256:abc", global: [1, 2], momentum: [0, 0])
    }

    @Test func aJoinerWaitsForTheDonorsNextStep() {
        let box = SnapshotBox()
        box.publish(snapshot(4), quorum: nil)
        #expect(box.wait(after: 4, timeout: 0.2, stuckAfter: 0.1) == nil, "a donor that trains hands over nothing older")
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { box.publish(snapshot(5), quorum: nil) }
        #expect(box.wait(after: 4, timeout: 10)?.0.outerStep == 5)
    }

    /// The donor cannot finish its next step without the joiner (fewer than the minimum): it hands over what it has.
    @Test func aDonorStuckWaitingForAQuorumHandsOverItsCurrentStep() {
        let box = SnapshotBox()
        box.publish(snapshot(4), quorum: nil)
        box.joining(true, now: Date().addingTimeInterval(-5))
        #expect(box.wait(after: 4, timeout: 10, stuckAfter: 3)?.0.outerStep == 4)
        box.joining(false)
        box.joining(true)
        let started = Date()
        #expect(box.wait(after: 4, timeout: 10, stuckAfter: 0.3)?.0.outerStep == 4)
        #expect(Date().timeIntervalSince(started) >= 0.3, "handed over once the join has waited past the join timeout, not before")
        box.joining(false)
        #expect(box.wait(after: 4, timeout: 0.2, stuckAfter: 0.1) == nil, "a donor that got its quorum trains on")
    }
}
