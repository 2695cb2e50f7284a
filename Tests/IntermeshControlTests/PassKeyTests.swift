import Foundation
import Testing
@testable import IntermeshControl

/// When a reconcile pass must look at every member, and when recording the outer step is enough.
@Suite struct PassKeyTests {
    static let t0 = Date(timeIntervalSince1970: 5000)
    static let key = PassKey(membership: 7, revision: 2, phase: "running", generation: 2)
    static let last = PassKey.Last(key: key, at: t0, due: t0.addingTimeInterval(60))

    static func with(_ change: (inout PassKey) -> Void) -> PassKey {
        var key = Self.key
        change(&key)
        return key
    }

    /// Name, last pass, current key, seconds since it, deadline passed, disconnected member heard, rollout, expected.
    static let cases: [(String, PassKey.Last?, PassKey, TimeInterval, Bool, Bool, Bool, Bool)] = [
        ("nothing changed: no full pass", last, key, 1, false, false, false, false),
        ("first pass of a run (or launch history changed)", nil, key, 1, false, false, false, true),
        ("a member joined, left or changed slot", last, with { $0.membership = 8 }, 1, false, false, false, true),
        ("the active revision changed", last, with { $0.revision = 3 }, 1, false, false, false, true),
        ("the run was stopped", last, with { $0.phase = "stopped" }, 1, false, false, false, true),
        ("a newer generation", last, with { $0.generation = 3 }, 1, false, false, false, true),
        ("a restart backoff or disconnect grace ended", last, key, 60, false, false, false, true),
        ("a heartbeat deadline passed", last, key, 1, true, false, false, true),
        ("a disconnected member was heard again", last, key, 1, false, true, false, true),
        ("a rollout is under way", last, key, 1, false, false, true, true),
    ]

    @Test(arguments: cases.indices)
    func fullPassNeeded(_ index: Int) {
        let (name, last, current, elapsed, deadline, heard, rollout, expected) = Self.cases[index]
        #expect(PassKey.fullPassNeeded(last: last, current: current, now: Self.t0.addingTimeInterval(elapsed),
                                       heartbeatDeadlinePassed: deadline, disconnectedHeard: heard, rolloutInProgress: rollout) == expected,
                "\(name)")
    }
}
