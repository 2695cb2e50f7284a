import Foundation
import IntermeshAPI
import IntermeshControl
import IntermeshServer
import IntermeshStore
import Testing

@Suite struct MemberRegistryTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("registry-\(UUID())")
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    func store() async throws -> SQLiteStore {
        let store = try SQLiteStore(directory: directory)
        _ = try await store.apply(ApplyRequest(run: "demo", specText: "spec", canonical: "{}", plan: "{}", contentHash: "a",
                                               appliedBy: "admin:test", checkRevision: nil, now: now))
        return store
    }

    /// Replica groups that start together register together (registrations share transactions): every one of them is
    /// stored with its event and a launch of its slot, and each caller returns only once its registration is stored.
    @Test func concurrentRegistrationsAreAllStored() async throws {
        let store = try await store()
        let registry = MemberRegistry(store: store)
        let count = 300
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                group.addTask {
                    let record = MemberRecord(id: "m\(index)", site: "s\(index % 3)", slot: "s\(index % 3)/\(index)", lastHeartbeat: now)
                    let fresh = try await registry.beat(run: "demo", [record], now: now)
                    #expect(fresh.map(\.id) == ["m\(index)"])
                    // Stored by the time the caller hears back.
                    #expect(try await store.slots(of: "demo", named: [record.slot])[record.slot]?.lastMember == record.id)
                }
            }
            try await group.waitForAll()
        }
        #expect(Set(try await store.members(of: "demo").map(\.id)) == Set((0..<count).map { "m\($0)" }))
        let slots = try await store.slots(of: "demo")
        #expect(slots.count == count && slots.values.allSatisfy { $0.launches.count == 1 })
        let registered = try await store.events(of: "demo", after: 0, limit: 1000).filter { $0.kind == "Registered" }
        #expect(registered.count == count)
        // A known member's heartbeat is not a registration.
        #expect(try await registry.beat(run: "demo", [MemberRecord(id: "m0", site: "s0", slot: "s0/0", lastHeartbeat: now)], now: now).isEmpty)
    }

    /// torchft names a group only: a heartbeat of a known member refreshes it; an unknown one registers once.
    @Test func touchRefreshesKnownMembersAndRegistersNewOnes() async throws {
        let store = try await store()
        let registry = MemberRegistry(store: store)
        let make: @Sendable () -> MemberRecord = { MemberRecord(id: "g0", site: "s0", slot: "s0/0", state: .joining, lastHeartbeat: now) }
        #expect(await registry.refresh(run: "demo", id: "g0", now: now) { _ in } == false)
        try await registry.touch(run: "demo", id: "g0", now: now, update: { $0.outerStep = 3 }, make: make)
        let later = now.addingTimeInterval(2)
        try await registry.touch(run: "demo", id: "g0", now: later, update: { $0.state = .training }, make: make)
        let member = try #require(await registry.members(of: "demo").first)
        #expect(member.lastHeartbeat == later && member.state == .training && member.outerStep == 3)
        #expect(try await store.events(of: "demo", after: 0, limit: 100).filter { $0.kind == "Registered" }.count == 1)
    }

    /// A reconcile pass asks only about deadlines it has not decided on yet: a member silent since before the last full
    /// pass's deadline (disconnected, waiting for its grace to end) does not make every later pass a full one.
    @Test func heartbeatDeadlinesAreAskedFromAGivenTimeAndDisconnectedMembersOneByOne() async throws {
        let registry = MemberRegistry(store: try await store())
        let silent = MemberRecord(id: "quiet", site: "s0", slot: "s0/0", lastHeartbeat: now)
        let chatty = MemberRecord(id: "busy", site: "s1", slot: "s1/0", lastHeartbeat: now.addingTimeInterval(8))
        try await registry.beat(run: "demo", [silent, chatty], now: now.addingTimeInterval(8))
        #expect(await registry.earliestHeartbeat(of: "demo", from: nil) == now)
        #expect(await registry.earliestHeartbeat(of: "demo", from: now.addingTimeInterval(1)) == now.addingTimeInterval(8))
        #expect(await registry.earliestHeartbeat(of: "demo", from: now.addingTimeInterval(9)) == nil)
        #expect(await registry.earliestHeartbeat(of: "other", from: nil) == nil)

        let later = now.addingTimeInterval(12)
        #expect(await registry.anyLive(["quiet"], in: "demo", timeout: 5, now: later) == false)
        #expect(await registry.anyLive(["quiet", "busy"], in: "demo", timeout: 5, now: later) == true)
        #expect(await registry.anyLive(["gone"], in: "demo", timeout: 5, now: later) == false)
        // Heard again: live, and its old heartbeat no longer counts as the earliest.
        try await registry.beat(run: "demo", [MemberRecord(id: "quiet", site: "s0", slot: "s0/0", lastHeartbeat: later)], now: later)
        #expect(await registry.anyLive(["quiet"], in: "demo", timeout: 5, now: later) == true)
        #expect(await registry.earliestHeartbeat(of: "demo", from: nil) == now.addingTimeInterval(8))
    }
}
