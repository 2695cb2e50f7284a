import Foundation

/// Desired against actual for one site.
public struct SiteDiff: Codable, Sendable, Equatable {
    public var site: String
    public var desired: Int
    public var live: Int
    /// Desired slots with no live member.
    public var missing: [String]
    /// Members on slots the plan does not have (a removed site or replica, or a slot never planned).
    public var extra: [String]
    /// Members that missed two heartbeats but are not yet past the timeout.
    public var stale: [String]
    /// Members whose acknowledged revision is not the active one.
    public var skewed: [String]

    public var inSync: Bool { missing.isEmpty && extra.isEmpty && stale.isEmpty && skewed.isEmpty }

    public init(site: String, desired: Int, live: Int, missing: [String], extra: [String], stale: [String], skewed: [String]) {
        self.site = site
        self.desired = desired
        self.live = live
        self.missing = missing
        self.extra = extra
        self.stale = stale
        self.skewed = skewed
    }
}

/// What `intermesh diff RUN` shows: per site, missing, extra, stale and out-of-date replicas.
public struct MeshDiff: Codable, Sendable, Equatable {
    public var run: String
    public var contentHash: String
    public var sites: [SiteDiff]

    public var inSync: Bool { sites.allSatisfy(\.inSync) }

    public init(run: String, contentHash: String, sites: [SiteDiff]) {
        self.run = run
        self.contentHash = contentHash
        self.sites = sites
    }
}
