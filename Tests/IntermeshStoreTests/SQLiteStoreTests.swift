import Foundation
import IntermeshAPI
import IntermeshControl
import Testing
@testable import IntermeshStore

@Suite struct SQLiteStoreTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID())")
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    func request(_ run: String = "demo", hash: String, check: Int? = nil) -> ApplyRequest {
        ApplyRequest(run: run, specText: "spec \(hash)", canonical: "{\"c\":\"\(hash)\"}", plan: "{\"p\":\"\(hash)\"}",
                     contentHash: hash, appliedBy: "admin:test", checkRevision: check, now: now)
    }

    @Test func revisionsAreNumberedAndIdenticalContentIsANoOp() async throws {
        let store = try SQLiteStore(directory: directory)
        #expect(try await store.apply(request(hash: "a")).revision.number == 1)
        guard case .unchanged(let same) = try await store.apply(request(hash: "a")) else { Issue.record("expected unchanged"); return }
        #expect(same.number == 1)
        guard case .updated(let second) = try await store.apply(request(hash: "b")) else { Issue.record("expected updated"); return }
        #expect(second.number == 2)
        let run = try #require(try await store.run("demo"))
        #expect(run.generation == 2 && run.activeRevision == 2 && run.phase == .running)
        #expect(try await store.revisions(of: "demo").map(\.contentHash) == ["a", "b"])
        #expect(try await store.events(of: "demo", after: 0, limit: 10).map(\.message) == [
            "revision 1 applied by admin:test", "revision 2 applied by admin:test",
        ])
    }

    @Test func checkRevisionGuardsConcurrentApplies() async throws {
        let store = try SQLiteStore(directory: directory)
        _ = try await store.apply(request(hash: "a", check: 0))
        await #expect(throws: StoreError(code: .conflict(current: 1), message: "run demo is at revision 1, not 0")) {
            try await store.apply(request(hash: "b", check: 0))
        }
        #expect(try await store.apply(request(hash: "b", check: 1)).revision.number == 2)
        #expect(try await store.revisions(of: "demo").count == 2)
    }

    @Test func everythingSurvivesReopening() async throws {
        do {
            let store = try SQLiteStore(directory: directory)
            _ = try await store.apply(request(hash: "a"))
            let token = AccessToken.issue(role: .agent, run: "demo", site: "alpha", description: "t", now: now)
            try await store.saveToken(token.record)
            try await store.register([MemberRecord(id: "m1", site: "alpha", slot: "alpha/0", lastHeartbeat: now)], slots: [:], events: [],
                                     run: "demo", now: now)
            try await store.saveSlot("alpha/0", SlotRecord(launches: [now], quarantined: false), run: "demo")
        }
        let store = try SQLiteStore(directory: directory)
        #expect(try await store.revision(of: "demo", number: 1)?.specText == "spec a")
        #expect(try await store.tokenCount() == 1)
        #expect(try await store.members(of: "demo").map(\.slot) == ["alpha/0"])
        #expect(try await store.slots(of: "demo")["alpha/0"]?.launches == [now])
        try await store.removeMembers(["m1"], run: "demo")
        #expect(try await store.members(of: "demo").isEmpty)
        #expect(try await store.deleteRun("demo"))
        #expect(try await store.run("demo") == nil)
        #expect(try await store.revisions(of: "demo").isEmpty)
    }

    @Test func aSecondOpenOfTheDirectoryIsRefusedUntilTheFirstCloses() async throws {
        var first: SQLiteStore? = try SQLiteStore(directory: directory)
        _ = try await first?.apply(request(hash: "a"))
        do {
            _ = try SQLiteStore(directory: directory)
            Issue.record("a second store opened the same directory")
        } catch let error as StoreError {
            #expect(error.code == .locked && error.message == "another process (pid \(getpid())) has it open")
        }
        first = nil
        let second = try SQLiteStore(directory: directory)
        #expect(try await second.run("demo")?.generation == 1)
    }

    /// Run rows are served from memory; every write that changes one must show in the next read.
    @Test func runReadsSeeEveryWrite() async throws {
        let store = try SQLiteStore(directory: directory)
        _ = try await store.apply(request(hash: "a"))
        #expect(try await store.run("demo")?.activeRevision == 1)
        _ = try await store.apply(request(hash: "b"))
        #expect(try await store.run("demo").map { [$0.generation, $0.activeRevision] } == [2, 2])
        try await store.setPhase(.stopped, of: "demo", now: now)
        #expect(try await store.run("demo")?.phase == .stopped)
        try await store.updateStatus(of: "demo", outerStep: 7, conditions: [], now: now)
        #expect(try await store.run("demo")?.outerStep == 7)
        _ = try await store.updateRolloutState(run: "demo", now: now) { _ in
            RolloutUpdate(state: RolloutState.initial(revision: 1), events: ["back to 1"], activeRevision: 1)
        }
        #expect(try await store.run("demo")?.activeRevision == 1)
        #expect(try await store.deleteRun("demo"))
        #expect(try await store.run("demo") == nil)
    }

    @Test func aReadThatRacesAWriteIsNotCached() async throws {
        let cache = ReadThroughCache<String>()
        // The load read the row before a write committed and dropped the entry: its answer is not kept.
        #expect(try await cache.value("k") { cache.invalidate("k"); return "old" } == "old")
        #expect(try await cache.value("k") { "new" } == "new")
        #expect(try await cache.value("k") { Issue.record("a cached row was loaded again"); return "other" } == "new")
        // Missing rows are not cached: a name that appears later is found.
        #expect(try await cache.value("later") { nil } == nil)
        #expect(try await cache.value("later") { "here" } == "here")
    }

    @Test func tokensVerifyOnlyWithTheirSecret() throws {
        let issued = AccessToken.issue(role: .viewer, run: nil, site: nil, description: "", now: now)
        let (id, secret) = try #require(AccessToken.parse(issued.text))
        #expect(id == issued.record.id)
        #expect(AccessToken.verify(secret: secret, against: issued.record))
        #expect(!AccessToken.verify(secret: String(secret.reversed()), against: issued.record))
        #expect(!issued.record.hash.isEmpty && issued.record.salt.count == 16)
        for bad in ["", "imt_", "imt_abc_def", "Bearer x", issued.text + "0", "imt_" + String(repeating: "g", count: 10) + "_" + secret] {
            #expect(AccessToken.parse(bad) == nil, "\(bad)")
        }
    }

    /// A token row naming a role this version does not know used to act as a viewer; it grants nothing now.
    @Test func aTokenWithAnUnknownRoleGrantsNothing() async throws {
        let store = try SQLiteStore(directory: directory)
        let issued = AccessToken.issue(role: .viewer, run: nil, site: nil, description: "", now: now)
        try await store.saveToken(issued.record)
        #expect(try await store.token(id: issued.record.id)?.role == .viewer)
        try await store.pool.write { db in try db.execute(sql: "UPDATE tokens SET role = 'root' WHERE id = ?", arguments: [issued.record.id]) }
        store.tokenCache.invalidate(issued.record.id)
        #expect(try await store.token(id: issued.record.id) == nil)
        #expect(try await store.tokens().isEmpty)
    }

    /// A token deleted behind the store's back (with sqlite3) stops working within the cache's age, not at restart.
    @Test func cachedEntriesAreReadAgainOnceOld() async throws {
        let cache = ReadThroughCache<String>(maxAge: .milliseconds(50))
        #expect(try await cache.value("k") { "v" } == "v")
        #expect(try await cache.value("k") { nil } == "v")
        try await Task.sleep(for: .milliseconds(80))
        #expect(try await cache.value("k") { nil } == nil)
        #expect(try await cache.value("k") { "w" } == "w")
    }

    /// Tokens carry their expiry through the store; revoking deletes them.
    @Test func tokensExpireAndAreDeleted() async throws {
        let store = try SQLiteStore(directory: directory)
        let issued = AccessToken.issue(role: .operator, run: nil, site: nil, description: "ci", now: now, expiresAt: now.addingTimeInterval(60))
        try await store.saveToken(issued.record)
        let loaded = try #require(try await store.token(id: issued.record.id))
        #expect(loaded.expiresAt == now.addingTimeInterval(60) && !loaded.isExpired(at: now) && loaded.isExpired(at: now.addingTimeInterval(60)))
        #expect(try await store.deleteToken(id: issued.record.id))
        #expect(try await store.token(id: issued.record.id) == nil)
        #expect(try await store.deleteToken(id: issued.record.id) == false)
    }
}
