import Foundation

/// From which outer step each revision is active, and on which sites. The revision of outer step k at a
/// site is that of the last entry with `fromStep <= k` that covers the site: every member of a step's
/// quorum trains that step (its inner steps, all-reduce and outer update) with it.
public struct RevisionSchedule: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var revision: Int
        public var fromStep: Int
        /// nil: every site; else only these (a canary).
        public var sites: [String]?
        /// A canary's weight in the outer average (its sites' pseudo-gradients count this much); nil: 1.
        public var weight: Double?

        public init(revision: Int, fromStep: Int, sites: [String]? = nil, weight: Double? = nil) {
            self.revision = revision
            self.fromStep = fromStep
            self.sites = sites
            self.weight = weight
        }

        public func covers(_ site: String) -> Bool { sites.map { $0.contains(site) } ?? true }
    }

    public var entries: [Entry]

    public init(entries: [Entry] = []) {
        self.entries = entries
    }

    /// The entry in force at `site` for outer step `step`; nil before the first entry.
    public func entry(forStep step: Int, site: String) -> Entry? {
        entries.last { $0.fromStep <= step && $0.covers(site) }
    }

    /// The revision of outer step `step` at `site`; nil before the first entry.
    public func revision(forStep step: Int, site: String) -> Int? {
        entry(forStep: step, site: site)?.revision
    }

    /// How much `site`'s pseudo-gradients count in the average of outer step `step` (a canary's weight, else 1).
    public func weight(forStep step: Int, site: String) -> Double {
        entry(forStep: step, site: site)?.weight ?? 1
    }

    /// The earliest step a new entry may take effect from: never before an entry already announced.
    public func earliest(_ step: Int) -> Int {
        max(step, entries.last?.fromStep ?? 0)
    }

    /// Adds an entry and forgets those that no step at or after `oldestNeeded` can reach.
    public mutating func append(_ entry: Entry, oldestNeeded: Int) {
        entries.append(entry)
        // The last all-sites entry at or before oldestNeeded decides every earlier-covered lookup.
        if let base = entries.lastIndex(where: { $0.sites == nil && $0.fromStep <= oldestNeeded }), base > 0 {
            entries.removeFirst(base)
        }
        if entries.count > 64 { entries.removeFirst(entries.count - 64) }
    }
}
