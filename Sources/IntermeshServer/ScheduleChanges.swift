import Foundation

/// Wakes requests that wait for a run's revision schedule to change (an apply, an activation, a promotion, a
/// revert): members hold one such request open and hear of a new revision at once, not at their next heartbeat.
/// Versions live in memory; after a restart they start again, and a member whose version differs is answered at once.
public actor ScheduleChanges {
    var versions: [String: Int] = [:]
    var waiters: [String: [UUID: CheckedContinuation<Void, Never>]] = [:]
    /// Waits that ended before their continuation was registered.
    var released: Set<UUID> = []

    public init() {}

    public func version(of run: String) -> Int {
        versions[run] ?? 0
    }

    /// The run's schedule changed: every waiter of the run is answered.
    public func changed(run: String) {
        versions[run, default: 0] += 1
        for waiter in (waiters.removeValue(forKey: run) ?? [:]).values { waiter.resume() }
    }

    /// Returns the run's version once it differs from `after`, or after `timeout`.
    public func wait(run: String, after: Int, timeout: Duration) async -> Int {
        guard version(of: run) == after else { return version(of: run) }
        let id = UUID()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.suspend(run: run, after: after, id: id) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                await self.release(run: run, id: id)
            }
            await group.next()
            group.cancelAll()
            release(run: run, id: id)
        }
        released.remove(id)
        return version(of: run)
    }

    func suspend(run: String, after: Int, id: UUID) async {
        await withCheckedContinuation { continuation in
            if released.contains(id) || version(of: run) != after {
                continuation.resume()
            } else {
                waiters[run, default: [:]][id] = continuation
            }
        }
    }

    func release(run: String, id: UUID) {
        if let waiter = waiters[run]?.removeValue(forKey: id) {
            waiter.resume()
        } else {
            released.insert(id)
        }
    }
}
