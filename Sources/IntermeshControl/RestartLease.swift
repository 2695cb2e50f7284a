import Foundation

/// Who may relaunch replicas for a restart-class change, and how many at once: one site at a time, and never
/// so many that the run's ready members drop below minReplicas. Agents ask each tick with what they still have to
/// relaunch; the lease stays with a site until it has nothing left.
public struct RestartLease: Sendable, Equatable {
    /// The members the last reconcile pass saw.
    public struct Readiness: Sendable, Equatable {
        /// Live and past joining.
        public var ready: Int
        public var live: Int
        public var minReplicas: Int
        /// `rollout.maxParallel`: relaunching at once at most.
        public var maxParallel: Int

        public init(ready: Int, live: Int, minReplicas: Int, maxParallel: Int) {
            self.ready = ready
            self.live = live
            self.minReplicas = minReplicas
            self.maxParallel = maxParallel
        }
    }

    /// The site relaunching now.
    public private(set) var holder: String?

    public init(holder: String? = nil) {
        self.holder = holder
    }

    /// `site` has `pending` replicas to relaunch; `pendingBySite` is what every site last reported. Returns how
    /// many it may have relaunching at once now (0: wait its turn, or for recovering members to be ready).
    public mutating func request(site: String, pending: Int, pendingBySite: [String: Int], readiness: Readiness?) -> Int {
        guard pending > 0 else {
            if holder == site { holder = nil }
            return 0
        }
        if let holder, holder != site, (pendingBySite[holder] ?? 0) > 0 { return 0 }
        // A member still recovering from the last relaunch is not ready: wait for it before the next.
        guard let readiness, readiness.ready == readiness.live else { return 0 }
        let allowed = min(readiness.maxParallel, readiness.ready - readiness.minReplicas)
        guard allowed > 0 else { return 0 }
        holder = site
        return allowed
    }
}
