import IntermeshAPI
import IntermeshPlan

extension Plan {
    /// A site's link for `describe` and the console: its declared bandwidth against its live members' measurements.
    func link(of site: String, live: [MemberRecord]) -> SiteLink {
        let declared = run.spec.sites.first { $0.name == site }?.bandwidth.bitsPerSecond ?? 0
        return SiteLink.measure(declaredMbps: declared / 1_000_000, members: live.filter { $0.site == site })
    }
}
