import Foundation
import IntermeshAPI
import IntermeshPlan
import Testing
@testable import IntermeshControl

@Suite struct MeshDiffTests {
    let now = ReconcilerTests.now
    let plan = ReconcilerTests.plan()

    func member(_ slot: String, silent: TimeInterval = 1, revision: String? = nil) -> MemberRecord {
        var record = ReconcilerTests.member(slot, silent: silent)
        record.revision = revision ?? plan.contentHash
        return record
    }

    @Test func inSyncWhenEverySlotIsLiveAndCurrent() {
        let diff = MeshDiff.compute(plan: plan, members: ["alpha/0", "alpha/1", "beta/0"].map { member($0) }, now: now)
        #expect(diff.inSync)
        #expect(diff.sites.map(\.live) == [2, 1])
    }

    @Test func reportsMissingExtraStaleAndSkewed() {
        let members = [
            member("alpha/0", silent: 4.5),           // stale: two beats missed (interval 2s), timeout 5s not reached
            member("beta/0", revision: "sha256:old"), // skewed
            member("alpha/7"),                        // extra: not a planned slot
            member("gamma/0"),                        // extra: a site the plan does not have
            member("alpha/1", silent: 60),            // lost: counts as missing
        ]
        let diff = MeshDiff.compute(plan: plan, members: members, now: now)
        #expect(!diff.inSync)
        let alpha = diff.sites[0], beta = diff.sites[1], gamma = diff.sites[2]
        #expect(alpha.missing == ["alpha/1"] && alpha.extra == ["m-alpha/7"] && alpha.stale == ["m-alpha/0"] && alpha.live == 1)
        #expect(beta.skewed == ["m-beta/0"] && beta.missing.isEmpty)
        #expect(gamma.site == "gamma" && gamma.desired == 0 && gamma.extra == ["m-gamma/0"])
    }
}
