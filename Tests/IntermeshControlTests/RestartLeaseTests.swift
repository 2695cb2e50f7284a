import Foundation
import Testing
@testable import IntermeshControl

/// One site at a time relaunches, never below minReplicas, and only once the last relaunch has recovered.
@Suite struct RestartLeaseTests {
    typealias Readiness = RestartLease.Readiness
    static let steady = Readiness(ready: 4, live: 4, minReplicas: 2, maxParallel: 1)

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var holder: String?
        var site: String
        var pending: Int
        var pendingBySite: [String: Int]
        var readiness: Readiness?
        var allowed: Int
        var holderAfter: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a free lease goes to the first site that asks", holder: nil, site: "a", pending: 2, pendingBySite: ["a": 2],
             readiness: steady, allowed: 1, holderAfter: "a"),
        Case(name: "the holder keeps it while it has relaunches left", holder: "a", site: "a", pending: 1, pendingBySite: ["a": 1, "b": 3],
             readiness: steady, allowed: 1, holderAfter: "a"),
        Case(name: "another site waits while the holder has relaunches left", holder: "a", site: "b", pending: 3, pendingBySite: ["a": 1, "b": 3],
             readiness: steady, allowed: 0, holderAfter: "a"),
        Case(name: "a holder with nothing left frees the lease for the next site", holder: "a", site: "b", pending: 3, pendingBySite: ["a": 0, "b": 3],
             readiness: steady, allowed: 1, holderAfter: "b"),
        Case(name: "the holder reporting nothing left gives the lease back", holder: "a", site: "a", pending: 0, pendingBySite: ["a": 0],
             readiness: steady, allowed: 0, holderAfter: nil),
        Case(name: "nothing before a reconcile pass has seen the members", holder: nil, site: "a", pending: 1, pendingBySite: ["a": 1],
             readiness: nil, allowed: 0, holderAfter: nil),
        Case(name: "a member still recovering holds the next relaunch", holder: "a", site: "a", pending: 1, pendingBySite: ["a": 1],
             readiness: Readiness(ready: 3, live: 4, minReplicas: 2, maxParallel: 1), allowed: 0, holderAfter: "a"),
        Case(name: "never below minReplicas", holder: nil, site: "a", pending: 2, pendingBySite: ["a": 2],
             readiness: Readiness(ready: 2, live: 2, minReplicas: 2, maxParallel: 1), allowed: 0, holderAfter: nil),
        Case(name: "maxParallel bounded by the headroom above minReplicas", holder: nil, site: "a", pending: 5, pendingBySite: ["a": 5],
             readiness: Readiness(ready: 5, live: 5, minReplicas: 2, maxParallel: 4), allowed: 3, holderAfter: "a"),
    ]

    @Test(arguments: cases)
    func request(_ test: Case) {
        var lease = RestartLease(holder: test.holder)
        #expect(lease.request(site: test.site, pending: test.pending, pendingBySite: test.pendingBySite, readiness: test.readiness) == test.allowed)
        #expect(lease.holder == test.holderAfter)
    }
}
