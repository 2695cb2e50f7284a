import Foundation
import IntermeshAPI
import IntermeshControl
import IntermeshPlan
import IntermeshStore

/// The live members of every run, in memory: heartbeats only touch memory, so 100,000 members at a 2 s
/// interval cost no disk writes. Registrations and evictions (membership changes) are written to the store;
/// after a restart the stored members get one heartbeat timeout of grace to check in again.
public actor MemberRegistry {
    let store: any Store
    var runs: [String: [String: MemberRecord]] = [:]
    var indexes: [String: MembershipIndex] = [:]
    /// Members lost (silent past the heartbeat timeout and any disconnect grace) by run, member id to slot, and the
    /// order they were lost in (the newest 10,000 per run are kept). Their slots are relaunched, so one that comes back
    /// is refused rather than registered again. Those whose slot was launched again are also kept in its record
    /// (`SlotRecord.replaced`), and read back by `restore`, so a restart or failover does not forget them.
    var lost: [String: [String: String]] = [:]
    var lostOrder: [String: [String]] = [:]
    static let lostKept = 10_000

    public init(store: any Store) {
        self.store = store
    }

    /// Loads stored members, stamping them as just heard from.
    public func restore(now: Date) async throws {
        for run in try await store.runs() {
            var members: [String: MemberRecord] = [:]
            var index = MembershipIndex()
            for var member in try await store.members(of: run.name) {
                member.lastHeartbeat = now
                members[member.id] = member
                index.update(old: nil, new: member)
            }
            runs[run.name] = members
            indexes[run.name] = index
            let slots = try await store.slots(of: run.name)
            markLost(run: run.name, slots.sorted { $0.key < $1.key }.flatMap { slot, record in record.replaced.map { ($0, slot) } })
        }
    }

    public func members(of run: String) -> [MemberRecord] {
        Array((runs[run] ?? [:]).values)
    }

    /// Which of `ids` are members of the run at `site`, without copying the membership.
    public func known(_ ids: Set<String>, in run: String, site: String) -> [String] {
        guard let members = runs[run] else { return [] }
        return ids.filter { members[$0]?.site == site }
    }

    /// The first of `ids` that is a member of the run at another site than `site`.
    public func foreign(_ ids: Set<String>, in run: String, site: String) -> MemberRecord? {
        guard let members = runs[run] else { return nil }
        for id in ids { if let member = members[id], member.site != site { return member } }
        return nil
    }

    /// Whether a member that is not leaving holds the slot.
    public func holds(slot: String, in run: String) -> Bool {
        runs[run]?.values.contains { $0.slot == slot && !$0.leaving } ?? false
    }

    /// The slots of members heartbeating within `timeout` and not leaving, and those of them past joining and
    /// recovering, without copying the member table.
    public func liveness(of run: String, timeout: TimeInterval, now: Date) -> QuorumBoard.Liveness {
        var live = Set<String>(), ready = Set<String>()
        for member in (runs[run] ?? [:]).values where member.isLive(at: now, timeout: timeout) {
            live.insert(member.slot)
            if member.isReady { ready.insert(member.slot) }
        }
        return QuorumBoard.Liveness(live: live, ready: ready)
    }

    /// What a reconcile pass checks before it looks at every member: see `MembershipIndex.Summary`.
    public func summary(of run: String) -> MembershipIndex.Summary {
        (indexes[run] ?? MembershipIndex()).summary
    }

    /// See `MembershipIndex.earliestHeartbeat(from:)`.
    public func earliestHeartbeat(of run: String, from start: Date?) -> Date? {
        (indexes[run] ?? MembershipIndex()).earliestHeartbeat(from: start)
    }

    /// Whether any of these members is live again (heard within `timeout`), looking at them alone.
    public func anyLive(_ ids: Set<String>, in run: String, timeout: TimeInterval, now: Date) -> Bool {
        guard let members = runs[run] else { return false }
        return ids.contains { members[$0]?.isLive(at: now, timeout: timeout) == true }
    }

    /// Records heartbeats. New members are registrations: they are written to the store with a launch of
    /// their slot (which counts against its restart budget) and an event, in one transaction.
    @discardableResult
    public func beat(run: String, _ records: [MemberRecord], now: Date) async throws -> [MemberRecord] {
        var fresh: [MemberRecord] = []
        // Mutate in place: copying a run's member table per heartbeat would cost O(members) each time.
        for record in records {
            let old = runs[run, default: [:]].updateValue(record, forKey: record.id)
            indexes[run, default: MembershipIndex()].update(old: old, new: record)
            if old == nil { fresh.append(record) }
        }
        guard !fresh.isEmpty else { return [] }
        try await persist(fresh, run: run, now: now)
        return fresh
    }

    /// Registrations of a run waiting for the transaction in flight, and the runs with one in flight.
    var queued: [String: [(records: [MemberRecord], now: Date, done: CheckedContinuation<Void, Error>)]] = [:]
    var writing: Set<String> = []

    /// Writes registrations with a group commit: while one transaction of a run is in flight, the registrations that
    /// arrive queue and go into the next one together, so a thousand replica groups starting at once cost a few
    /// transactions, not a thousand serialized ones, and a lone registration waits for nothing.
    func persist(_ fresh: [MemberRecord], run: String, now: Date) async throws {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, Error>) in
            queued[run, default: []].append((fresh, now, done))
            guard writing.insert(run).inserted else { return }
            Task { await self.drain(run: run) }
        }
    }

    func drain(run: String) async {
        while let batch = queued.removeValue(forKey: run) {
            let fresh = batch.flatMap(\.records), now = batch.map(\.now).max() ?? Date()
            do {
                var slots = try await store.slots(of: run, named: fresh.map(\.slot))
                for member in fresh {
                    // An agent reports its launches; a member started by hand counts as launched when it registers.
                    slots[member.slot, default: SlotRecord()].recordLaunch(of: member.id, at: now)
                }
                try await store.register(fresh, slots: slots, events: fresh.map { ("Registered", "member \($0.id) registered for \($0.slot)") },
                                         run: run, now: now)
                for entry in batch { entry.done.resume() }
            } catch {
                for entry in batch { entry.done.resume(throwing: error) }
            }
        }
        writing.remove(run)
    }

    /// Refreshes a known member's heartbeat (and what `update` changes); false when the run has no such member.
    public func refresh(run: String, id: String, now: Date, update: (inout MemberRecord) -> Void) -> Bool {
        guard var record = runs[run]?[id] else { return false }
        let old = record
        record.lastHeartbeat = now
        update(&record)
        runs[run]?[id] = record
        indexes[run]?.update(old: old, new: record)
        return true
    }

    /// A member heard from through a protocol that names it only (torchft's heartbeat and quorum request): `update`
    /// changes its record when it is known; otherwise `make` describes it and it registers as with `beat`.
    public func touch(run: String, id: String, now: Date, update: (inout MemberRecord) -> Void, make: () -> MemberRecord) async throws {
        if refresh(run: run, id: id, now: now, update: update) { return }
        var record = make()
        update(&record)
        try await beat(run: run, [record], now: now)
    }

    public func remove(run: String, ids: [String]) async throws {
        for id in ids {
            if let old = runs[run]?.removeValue(forKey: id) { indexes[run]?.update(old: old, new: nil) }
        }
        try await store.removeMembers(ids, run: run)
    }

    /// Records members the reconciler found lost, so they are refused if they come back.
    public func markLost(run: String, _ members: [(id: String, slot: String)]) {
        for member in members where lost[run, default: [:]].updateValue(member.slot, forKey: member.id) == nil {
            lostOrder[run, default: []].append(member.id)
        }
        if let order = lostOrder[run], order.count > Self.lostKept {
            for id in order.prefix(order.count - Self.lostKept) { lost[run]?[id] = nil }
            lostOrder[run] = Array(order.suffix(Self.lostKept))
        }
    }

    /// Which of `ids` were lost and replaced.
    public func lostAmong(_ ids: some Sequence<String>, in run: String) -> Set<String> {
        guard let gone = lost[run], !gone.isEmpty else { return [] }
        return Set(ids.filter { gone[$0] != nil })
    }

    public func forget(run: String) {
        runs[run] = nil
        indexes[run] = nil
        lost[run] = nil
        lostOrder[run] = nil
    }
}

/// What each member's ports refused, as its heartbeats last said: a rise is a metric and an event.
public actor RejectionTally {
    var totals: [String: [String: Int]] = [:]

    public init() {}

    /// How many more than the member's last report; 0 the first time a member reports none.
    func record(run: String, member: String, total: Int) -> Int {
        let last = totals[run, default: [:]][member] ?? 0
        totals[run, default: [:]][member] = total
        return max(0, total - last)
    }

    func forget(run: String) {
        totals[run] = nil
    }
}

/// Decoded plans of revisions, so requests do not decode a plan each time. Requests that miss together
/// share one decode: after a restart a thousand agents' first heartbeats must not each decode a
/// 100,000-replica plan. Each run keeps its two newest revisions: the active one and, during a rollout, the
/// one it started from.
public actor PlanCache {
    struct Key: Hashable {
        var run: String
        var revision: Int
    }

    var plans: [Key: Task<Plan?, Error>] = [:]

    public init() {}

    public func plan(run: String, revision: Int, load: @escaping @Sendable () async throws -> String?) async throws -> Plan? {
        let key = Key(run: run, revision: revision)
        if let pending = plans[key] { return try await pending.value }
        let task = Task<Plan?, Error> {
            guard let text = try await load() else { return nil }
            return try JSONDecoder().decode(Plan.self, from: Data(text.utf8))
        }
        let kept = Set(plans.keys.filter { $0.run == run }.map(\.revision).sorted().suffix(1)).union([revision])
        plans = plans.filter { $0.key.run != run || kept.contains($0.key.revision) }
        plans[key] = task
        do {
            guard let plan = try await task.value else {
                if plans[key] == task { plans[key] = nil }
                return nil
            }
            return plan
        } catch {
            // A failed load is not remembered: the next request tries again.
            if plans[key] == task { plans[key] = nil }
            throw error
        }
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
