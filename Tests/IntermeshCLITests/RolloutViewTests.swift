import Foundation
import IntermeshControl
import IntermeshServer
import Testing
@testable import IntermeshCLI

/// `intermesh rollout status` as printed when output is not a terminal.
@Suite struct RolloutViewTests {
    @Test func statusShowsPerSiteProgressOfACanary() throws {
        var rollout = Rollout(revision: 4, from: 3, strategy: .canary, canarySites: ["gamma"], summary: "1 change: 1 site-local hot",
                              appliedBy: "admin:x", startedAt: Date(timeIntervalSince1970: 1_796_000_000))
        rollout.phase = .canary
        rollout.activationStep = 17
        rollout.gateStep = 19
        let status = RolloutStatus(
            run: "local-demo", activeRevision: 4, outerStep: 18, paused: true, rollout: rollout,
            sites: [SiteRollout(site: "alpha", members: 1, acknowledged: 0, active: 0, pendingRestarts: 0, covered: false),
                    SiteRollout(site: "gamma", members: 2, acknowledged: 2, active: 1, pendingRestarts: nil, covered: true)],
            schedule: [])
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        try expectGolden(RolloutView.render(status, terminal: Terminal(descriptor: fds[1])), "rollout-status.txt")
    }
}
