import Foundation
import IntermeshControl
import IntermeshServer
import Synchronization
import Testing

@Suite struct QuorumBoardTests {
    let slots = (0..<8).map { "s\($0 % 2)/\($0 / 2)" }

    /// Counts calls, from any task.
    final class Counter: Sendable {
        let value = Mutex(0)
        func bump() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    func join(_ board: QuorumBoard, slot: String, step: Int, plan: String = "p1", wait: TimeInterval = 10, listed: Counter,
              looked: Counter) async -> QuorumBoard.Answer {
        await board.join(run: "r", step: step, slot: slot, failed: nil, plan: plan, planned: { listed.bump(); return slots },
                         rules: QuorumRules(minReplicas: 2, joinTimeout: 30), tick: 0.05, deadline: Date().addingTimeInterval(wait)) {
            looked.bump()
            return QuorumBoard.Liveness(live: Set(slots), ready: Set(slots))
        }
    }

    /// Every member of a step waits on the same look at the members, and the plan's slots are listed once per plan.
    @Test func waitersShareLooksAndThePlanIsListedOnce() async throws {
        let board = QuorumBoard()
        let listed = Counter(), looked = Counter()
        // Members arrive one every 60 ms, in reverse plan order: the first waits about 0.42 s, polling every 50 ms.
        let started = ContinuousClock.now
        let answers = await withTaskGroup(of: QuorumBoard.Answer.self) { group in
            for (index, slot) in slots.reversed().enumerated() {
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(60 * index))
                    return await join(board, slot: slot, step: 0, listed: listed, looked: looked)
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let decisions = answers.compactMap { if case let .formed(decision) = $0 { decision } else { nil } }
        #expect(decisions.count == slots.count && Set(decisions.map(\.id)).count == 1)
        // The ring follows the plan, not the order of arrival.
        #expect(decisions.first?.slots == slots)
        #expect(listed.count == 1)
        // One look per waiting member per tick would be about 45 here; shared, at most one per half tick of the
        // wait, plus one per arrival.
        let elapsed = ContinuousClock.now - started
        let bound = Int((Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) / 0.025) + slots.count
        #expect(looked.count <= bound, "\(looked.count) looks in \(elapsed)")
        // A new plan is listed again (the step waits for the other members: it is not formed here).
        _ = await join(board, slot: slots[0], step: 1, plan: "p2", wait: 0.1, listed: listed, looked: looked)
        #expect(listed.count == 2)
    }
}
