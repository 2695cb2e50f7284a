import Foundation
import IntermeshServer
import Testing

/// Members hold a schedule request open: a change answers every waiter of the run at once; otherwise the wait
/// ends at its timeout with the same version.
@Suite struct ScheduleChangesTests {
    @Test func aChangeAnswersEveryWaiterOfTheRun() async throws {
        let changes = ScheduleChanges()
        async let first = changes.wait(run: "r", after: 0, timeout: .seconds(30))
        async let second = changes.wait(run: "r", after: 0, timeout: .seconds(30))
        async let other = changes.wait(run: "s", after: 0, timeout: .milliseconds(200))
        try await Task.sleep(for: .milliseconds(100))
        await changes.changed(run: "r")
        // Woken by the change, not by their timeout (which would answer version 0).
        #expect(await [first, second] == [1, 1])
        // Another run's waiter is not woken by it.
        #expect(await other == 0)
    }

    @Test func aStaleVersionIsAnsweredAtOnceAndAQuietRunAtTheTimeout() async {
        let changes = ScheduleChanges()
        await changes.changed(run: "r")
        #expect(await changes.wait(run: "r", after: 0, timeout: .seconds(30)) == 1)
        #expect(await changes.wait(run: "r", after: -1, timeout: .seconds(30)) == 1)
        let started = ContinuousClock.now
        #expect(await changes.wait(run: "r", after: 1, timeout: .milliseconds(100)) == 1)
        #expect(ContinuousClock.now - started >= .milliseconds(100))
    }
}
