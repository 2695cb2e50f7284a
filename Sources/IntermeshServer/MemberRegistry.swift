import Foundation
import IntermeshControl
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

    /// Records heartbeats; returns the members that are new (registrations), already written to the store.
    @discardableResult
    public func beat(run: String, _ records: [MemberRecord]) async throws -> [MemberRecord] {
        var known = runs[run] ?? [:]
        var fresh: [MemberRecord] = []
        for record in records {
            if known[record.id] == nil { fresh.append(record) }
            known[record.id] = record
        }
        runs[run] = known
        if !fresh.isEmpty { try await store.saveMembers(fresh, run: run) }
        return fresh
    }

    public func remove(run: String, ids: [String]) async throws {
        for id in ids { runs[run]?[id] = nil }
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

import IntermeshPlan
