import Foundation
import IntermeshAPI
import Testing
@testable import IntermeshControl

@Suite struct RevisionScheduleTests {
    typealias Entry = RevisionSchedule.Entry

    static let schedule = RevisionSchedule(entries: [
        Entry(revision: 1, fromStep: 0), Entry(revision: 2, fromStep: 10), Entry(revision: 3, fromStep: 15, sites: ["gamma"]),
        Entry(revision: 2, fromStep: 20, sites: ["gamma"]),
    ])

    @Test(arguments: [
        (0, "alpha", 1), (9, "alpha", 1), (10, "alpha", 2), (14, "gamma", 2), (15, "gamma", 3), (15, "alpha", 2),
        (19, "gamma", 3), (20, "gamma", 2), (100, "alpha", 2),
    ])
    func revisionOfAStepAtASite(step: Int, site: String, expected: Int) {
        #expect(Self.schedule.revision(forStep: step, site: site) == expected)
    }

    @Test func newEntriesNeverStartBeforeAnAnnouncedOne() {
        #expect(Self.schedule.earliest(12) == 20)
        #expect(Self.schedule.earliest(30) == 30)
    }

    @Test func appendForgetsWhatNoStepCanReach() {
        var schedule = RevisionSchedule(entries: [Entry(revision: 1, fromStep: 0), Entry(revision: 2, fromStep: 5)])
        schedule.append(Entry(revision: 3, fromStep: 12), oldestNeeded: 8)
        #expect(schedule.entries.map(\.revision) == [2, 3])
        #expect(schedule.revision(forStep: 8, site: "a") == 2)
        #expect(schedule.revision(forStep: 12, site: "a") == 3)
    }

    @Test func aCanaryCountsWithItsWeightUntilPromoted() {
        let schedule = RevisionSchedule(entries: [
            Entry(revision: 1, fromStep: 0), Entry(revision: 2, fromStep: 10, sites: ["gamma"], weight: 0), Entry(revision: 2, fromStep: 14),
        ])
        #expect(schedule.weight(forStep: 9, site: "gamma") == 1)
        #expect(schedule.weight(forStep: 10, site: "gamma") == 0)
        #expect(schedule.weight(forStep: 10, site: "alpha") == 1)
        #expect(schedule.weight(forStep: 14, site: "gamma") == 1)
    }
}
