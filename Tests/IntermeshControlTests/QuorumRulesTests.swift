import Foundation
import Testing
@testable import IntermeshControl

@Suite struct QuorumRulesTests {
    static let t0 = Date(timeIntervalSince1970: 1000)
    let rules = QuorumRules(minReplicas: 2, joinTimeout: 60)

    typealias Outcome = QuorumRules.Outcome<String>

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var previous: Set<String>
        var announced: Set<String> = []
        var gone: Set<String> = []
        var joined: Set<String>
        var alive: Int
        var elapsed: TimeInterval
        var outcome: QuorumRules.Outcome<String>
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "fast quorum: every previous member asked", previous: ["a", "b", "c"], joined: ["a", "b", "c"], alive: 3, elapsed: 0,
             outcome: .form(["a", "b", "c"])),
        Case(name: "a missing member is waited for until the join timeout", previous: ["a", "b", "c"], joined: ["a", "b"], alive: 3,
             elapsed: 10, outcome: .waitUntil(t0.addingTimeInterval(60))),
        Case(name: "after the timeout the quorum forms without it", previous: ["a", "b", "c"], joined: ["a", "b"], alive: 3,
             elapsed: 60, outcome: .form(["a", "b"])),
        Case(name: "a member known gone is not waited for", previous: ["a", "b", "c"], gone: ["c"], joined: ["a", "b"], alive: 2,
             elapsed: 0, outcome: .form(["a", "b"])),
        Case(name: "a joiner that asks is admitted at the step boundary", previous: ["a", "b"], joined: ["a", "b", "d"], alive: 3,
             elapsed: 0, outcome: .form(["a", "b", "d"])),
        Case(name: "an announced joiner is waited for", previous: ["a", "b"], announced: ["d"], joined: ["a", "b"], alive: 3,
             elapsed: 1, outcome: .waitUntil(t0.addingTimeInterval(60))),
        Case(name: "below minReplicas no quorum forms", previous: ["a", "b", "c"], gone: ["b", "c"], joined: ["a"], alive: 1,
             elapsed: 0, outcome: .belowMinimum(have: 1, need: 2)),
        Case(name: "no majority of the living: no quorum (no split brain)", previous: ["a", "b", "c", "d", "e"], joined: ["a", "b"],
             alive: 5, elapsed: 60, outcome: .belowMinimum(have: 2, need: 3)),
    ]

    @Test(arguments: cases)
    func decide(_ scenario: Case) {
        let input = QuorumRules.Input(previous: scenario.previous, announced: scenario.announced, gone: scenario.gone,
                                      joined: scenario.joined, alive: scenario.alive, firstJoin: Self.t0,
                                      now: Self.t0.addingTimeInterval(scenario.elapsed))
        #expect(rules.decide(input) == scenario.outcome)
    }

    @Test(arguments: [
        (["j1", "j2"], ["d1", "d2"], [:], ["j1": "d1", "j2": "d2"]),
        (["j1", "j2", "j3"], ["d1", "d2"], [:], ["j1": "d1", "j2": "d2", "j3": "d1"]),
        (["j1"], ["d1", "d2"], ["d1": 1], ["j1": "d2"]),
        (["j1"], [], [:], [:]),
    ] as [([String], [String], [String: Int], [String: String])])
    func donorsAreSpread(_ joiners: [String], _ donors: [String], _ load: [String: Int], _ expected: [String: String]) {
        #expect(DonorAssignment.assign(joiners: joiners, donors: donors, load: load) == expected)
    }
}
