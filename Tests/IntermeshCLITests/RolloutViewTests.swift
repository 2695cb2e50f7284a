import Foundation
import IntermeshAPI
import IntermeshClient
import IntermeshControl
import Testing
@testable import IntermeshCLI

/// `intermesh rollout status` as printed when output is not a terminal.
@Suite struct RolloutViewTests {
    @Test func statusShowsPerSiteProgressOfACanary() throws {
        // The API's answer, as the command decodes it.
        let json = """
        {"run": "local-demo", "activeRevision": 4, "outerStep": 18, "paused": true, "schedule": [],
         "rollout": {"revision": 4, "from": 3, "strategy": "canary", "phase": "canary", "promoted": false, "activationStep": 17,
                     "gateStep": 19, "canarySites": ["gamma"], "restartSites": [], "summary": "1 change: 1 site-local hot",
                     "appliedBy": "admin:x", "startedAt": "2026-12-01T10:00:00Z"},
         "sites": [{"site": "alpha", "members": 1, "acknowledged": 0, "active": 0, "pendingRestarts": 0, "covered": false},
                   {"site": "gamma", "members": 2, "acknowledged": 2, "active": 1, "covered": true}]}
        """
        let status = try APIClient.decoder.decode(RolloutStatus.self, from: Data(json.utf8))
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        try expectGolden(RolloutView.render(status, terminal: Terminal(descriptor: fds[1])), "rollout-status.txt")
    }
}
