import Foundation
import IntermeshControl
import IntermeshPlan
import IntermeshStore

/// The live members of every run, in memory: heartbeats only touch memory, so 100,000 members at a 2 s
/// interval cost no disk writes. Registrations and evictions (membership changes) are written to the store;
/// after a restart the stored members get one heartbeat timeout of grace to check in again.
public actor MemberRegistry {
    let store: any Store
    var runs: [String: [String: MemberRecord]] = [:]

    public init(store: any Store) {
        self.store = store
    }

    /// Loads stored members, stamping them as just heard from.
    public func restore(now: Date) async throws {
        for run in try await store.runs() {
            var members: [String: MemberRecord] = [:]
            for var member in try await store.members(of: run.name) {
                member.lastHeartbeat = now
                members[member.id] = member
            }
            runs[run.name] = members
        }
    }

    public func members(of run: String) -> [MemberRecord] {
        Array((runs[run] ?? [:]).values)
    }

    /// Records heartbeats. New members are registrations: they are written to the store with a launch of
    /// their slot (which counts against its restart budget) and an event, in one transaction.
    @discardableResult
    public func beat(run: String, _ records: [MemberRecord], now: Date) async throws -> [MemberRecord] {
        var fresh: [MemberRecord] = []
        // Mutate in place: copying a run's member table per heartbeat would cost O(members) each time.
        for record in records {
            if runs[run, default: [:]].updateValue(record, forKey: record.id) == nil { fresh.append(record) }
        }
        guard !fresh.isEmpty else { return [] }
        var slots = try await store.slots(of: run, named: fresh.map(\.slot))
        for member in fresh {
            // An agent reports its launches; a member started by hand counts as launched when it registers.
            slots[member.slot, default: SlotRecord()].recordLaunch(of: member.id, at: now)
        }
        try await store.register(fresh, slots: slots, events: fresh.map { ("Registered", "member \($0.id) registered for \($0.slot)") },
                                 run: run, now: now)
        return fresh
    }

    public func remove(run: String, ids: [String]) async throws {
        for id in ids { runs[run]?.removeValue(forKey: id) }
        try await store.removeMembers(ids, run: run)
    }

    public func forget(run: String) {
        runs[run] = nil
    }
}

/// Decoded plans of revisions, so requests do not decode a plan each time.
public actor PlanCache {
    var plans: [String: Plan] = [:]

    public init() {}

    public func plan(run: String, revision: Int, load: () async throws -> String?) async throws -> Plan? {
        let key = "\(run)#\(revision)"
        if let plan = plans[key] { return plan }
        guard let text = try await load() else { return nil }
        let plan = try JSONDecoder().decode(Plan.self, from: Data(text.utf8))
        plans = plans.filter { !$0.key.hasPrefix("\(run)#") }
        plans[key] = plan
        return plan
    }
}

/// Each run's rollout state, read through: every write goes through this control plane, which updates it.
public actor RolloutCache {
    var states: [String: RolloutState] = [:]

    public init() {}

    public func state(run: String, load: () async throws -> RolloutState?) async throws -> RolloutState? {
        if let state = states[run] { return state }
        let loaded = try await load()
        states[run] = loaded
        return loaded
    }

    public func set(_ state: RolloutState?, run: String) {
        states[run] = state
    }
}

/// How fast each run's outer steps go, from when the reconciler saw its outer step change.
public actor StepPace {
    var samples: [String: [(step: Int, at: Date)]] = [:]

    public init() {}

    public func record(run: String, step: Int, at time: Date) {
        var list = samples[run] ?? []
        guard list.last.map({ step > $0.step }) ?? true else { return }
        list.append((step, time))
        samples[run] = Array(list.suffix(10))
    }

    /// Seconds per outer step over the last few; nil before two samples.
    public func secondsPerStep(run: String) -> Double? {
        guard let list = samples[run], let first = list.first, let last = list.last, last.step > first.step else { return nil }
        return last.at.timeIntervalSince(first.at) / Double(last.step - first.step)
    }

    public func forget(run: String) {
        samples[run] = nil
    }
}
