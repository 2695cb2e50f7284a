import Foundation
import IntermeshControl
import Testing

@Suite struct BeatScheduleTests {
    let anchor = Date(timeIntervalSince1970: 1_000)

    /// Beats stay on the member's own grid: a late or slow beat skips ahead to the next point instead of
    /// shifting every later beat (which is how members that waited on a slow control plane fall into step).
    @Test(arguments: [
        (0.0, 2.0),    // at the anchor: the next point
        (0.5, 2.0),
        (1.999, 2.0),
        (2.0, 4.0),    // on a point: the one after it
        (2.3, 4.0),    // an answer that took 0.3 s does not move the grid
        (7.9, 8.0),    // one that took several intervals skips the missed points
        (-5.0, 0.0),   // a clock before the anchor: the anchor itself
    ])
    func nextPointAfter(elapsed: Double, expected: Double) {
        let schedule = BeatSchedule(anchor: anchor, interval: 2)
        #expect(schedule.next(after: anchor.addingTimeInterval(elapsed)) == anchor.addingTimeInterval(expected))
    }

    @Test func membersThatWereHeldUpTogetherKeepTheirPhases() {
        // Two members half an interval apart, both answered only at t = 10.1 after a stall: still half apart.
        let first = BeatSchedule(anchor: anchor, interval: 2), second = BeatSchedule(anchor: anchor.addingTimeInterval(1), interval: 2)
        let resumed = anchor.addingTimeInterval(10.1)
        #expect(second.next(after: resumed).timeIntervalSince(first.next(after: resumed)) == -1)
        #expect(first.next(after: resumed) == anchor.addingTimeInterval(12))
    }
}
