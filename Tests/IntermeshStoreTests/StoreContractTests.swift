import Foundation
import IntermeshAPI
import IntermeshControl
import PostgresNIO
import TestServices
import Testing
@testable import IntermeshStore

/// One store to test: SQLite in a fresh directory, or a fresh database of the test process's PostgreSQL cluster.
struct StoreUnderTest: Sendable, CustomTestStringConvertible {
    enum Kind: Sendable, CaseIterable {
        case sqlite
        case postgres
    }

    let kind: Kind
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID())")
    let database: String?

    init(_ kind: Kind) throws {
        self.kind = kind
        database = kind == .postgres ? try PostgresCluster.start().createDatabase() : nil
    }

    var testDescription: String { "\(kind)" }

    /// Opens the store (again: a reopened one must find everything an earlier one acknowledged).
    func open() async throws -> any Store {
        switch kind {
        case .sqlite:
            return try SQLiteStore(directory: directory)
        case .postgres:
            let cluster = try PostgresCluster.start()
            return try await PostgresStore(try PostgresLocation(url: database!, environment: ["PGPASSWORD": cluster.password]))
        }
    }

    /// Changes a row behind the store's back, as an operator with a database shell would.
    func execute(_ sql: String) async throws {
        switch kind {
        case .sqlite:
            try await SQLiteStore(directory: directory).pool.write { db in try db.execute(sql: sql) }
        case .postgres:
            try PostgresCluster.start().execute(sql, database: database!)
        }
    }
}

/// The store protocol's contract, held by both stores.
@Suite(.serialized) struct StoreContractTests {
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    func request(_ run: String = "demo", hash: String, check: Int? = nil) -> ApplyRequest {
        ApplyRequest(run: run, specText: "spec \(hash)", canonical: "{\"c\":\"\(hash)\"}", plan: "{\"p\":\"\(hash)\"}",
                     contentHash: hash, appliedBy: "admin:test", checkRevision: check, now: now)
    }

    @Test(arguments: StoreUnderTest.Kind.allCases) func revisionsAreNumberedAndIdenticalContentIsANoOp(_ kind: StoreUnderTest.Kind) async throws {
        let store = try await StoreUnderTest(kind).open()
        #expect(try await store.apply(request(hash: "a")).revision.number == 1)
        guard case .unchanged(let same) = try await store.apply(request(hash: "a")) else { Issue.record("expected unchanged"); return }
        #expect(same.number == 1)
        guard case .updated(let second) = try await store.apply(request(hash: "b")) else { Issue.record("expected updated"); return }
        #expect(second.number == 2 && second.specText == "spec b" && second.appliedAt == now)
        let run = try #require(try await store.run("demo"))
        #expect(run.generation == 2 && run.activeRevision == 2 && run.phase == .running && run.createdAt == now)
        #expect(try await store.revisions(of: "demo").map(\.contentHash) == ["a", "b"])
        #expect(try await store.revision(of: "demo", number: 2) == second)
        #expect(try await store.events(of: "demo", after: 0, limit: 10).map(\.message) == [
            "revision 1 applied by admin:test", "revision 2 applied by admin:test",
        ])
        #expect(try await store.runs().map(\.name) == ["demo"])
    }

    @Test(arguments: StoreUnderTest.Kind.allCases) func checkRevisionGuardsConcurrentApplies(_ kind: StoreUnderTest.Kind) async throws {
        let store = try await StoreUnderTest(kind).open()
        _ = try await store.apply(request(hash: "a", check: 0))
        await #expect(throws: StoreError(code: .conflict(current: 1), message: "run demo is at revision 1, not 0")) {
            try await store.apply(request(hash: "b", check: 0))
        }
        // Twenty applies race with the same expectation: exactly one wins, the others conflict, none is lost or doubled.
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<20 {
                group.addTask { (try? await store.apply(self.request(hash: "race-\(index)", check: 1))) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
        #expect(try await store.revisions(of: "demo").map(\.number) == [1, 2])
        #expect(try await store.run("demo")?.generation == 2)
    }

    @Test(arguments: StoreUnderTest.Kind.allCases) func everythingSurvivesReopening(_ kind: StoreUnderTest.Kind) async throws {
        let location = try StoreUnderTest(kind)
        do {
            let store = try await location.open()
            _ = try await store.apply(request(hash: "a"))
            let token = AccessToken.issue(role: .agent, run: "demo", site: "alpha", description: "t", now: now)
            try await store.saveToken(token.record)
            try await store.register([MemberRecord(id: "m1", site: "alpha", slot: "alpha/0", lastHeartbeat: now)],
                                     slots: ["alpha/1": SlotRecord(launches: [now], quarantined: true)], events: [("Registered", "m1")],
                                     run: "demo", now: now)
            try await store.saveSlot("alpha/0", SlotRecord(launches: [now], quarantined: false), run: "demo")
            _ = try await store.dataKey(of: "demo")
        }
        let store = try await location.open()
        #expect(try await store.revision(of: "demo", number: 1)?.specText == "spec a")
        #expect(try await store.tokenCount() == 1)
        #expect(try await store.tokens().first?.site == "alpha")
        #expect(try await store.members(of: "demo").map(\.slot) == ["alpha/0"])
        #expect(try await store.slots(of: "demo")["alpha/0"]?.launches == [now])
        #expect(try await store.slots(of: "demo", named: ["alpha/1", "beta/0"]).mapValues(\.quarantined) == ["alpha/1": true])
        #expect(try await store.events(of: "demo", after: 0, limit: 10).map(\.kind) == ["Applied", "Registered"])
        // A group naming a member twice (two registrations committed together) keeps its last record; known ones update.
        try await store.register([MemberRecord(id: "m2", site: "alpha", slot: "alpha/1", lastHeartbeat: now),
                                  MemberRecord(id: "m2", site: "alpha", slot: "alpha/2", lastHeartbeat: now),
                                  MemberRecord(id: "m1", site: "alpha", slot: "alpha/3", lastHeartbeat: now)],
                                 slots: [:], events: [], run: "demo", now: now)
        #expect(try await store.members(of: "demo").map(\.slot) == ["alpha/3", "alpha/2"])
        try await store.removeMembers(["m1", "m2"], run: "demo")
        #expect(try await store.members(of: "demo").isEmpty)
        #expect(try await store.deleteRun("demo"))
        #expect(try await store.deleteRun("demo") == false)
        #expect(try await store.run("demo") == nil)
        #expect(try await store.revisions(of: "demo").isEmpty)
        #expect(try await store.events(of: "demo", after: 0, limit: 10).isEmpty)
        #expect(try await store.slots(of: "demo").isEmpty)
    }

    /// Run rows are served from memory; every write that changes one must show in the next read.
    @Test(arguments: StoreUnderTest.Kind.allCases) func runReadsSeeEveryWrite(_ kind: StoreUnderTest.Kind) async throws {
        let store = try await StoreUnderTest(kind).open()
        _ = try await store.apply(request(hash: "a"))
        #expect(try await store.run("demo")?.activeRevision == 1)
        _ = try await store.apply(request(hash: "b"))
        #expect(try await store.run("demo").map { [$0.generation, $0.activeRevision] } == [2, 2])
        try await store.setPhase(.stopped, of: "demo", now: now)
        #expect(try await store.run("demo")?.phase == .stopped)
        await #expect(throws: StoreError.self) { try await store.setPhase(.stopped, of: "nope", now: now) }
        try await store.updateStatus(of: "demo", outerStep: 7, conditions: [], now: now)
        #expect(try await store.run("demo")?.outerStep == 7)
        _ = try await store.updateRolloutState(run: "demo", now: now) { _ in
            RolloutUpdate(state: RolloutState.initial(revision: 1), events: ["back to 1"], activeRevision: 1)
        }
        #expect(try await store.run("demo")?.activeRevision == 1)
        #expect(try await store.rolloutState(of: "demo") == RolloutState.initial(revision: 1))
        #expect(try await store.events(of: "demo", after: 0, limit: 10).last.map { [$0.kind, $0.message] } == ["Rollout", "back to 1"])
        // A transform that changes nothing writes nothing.
        #expect(try await store.updateRolloutState(run: "demo", now: now) { _ in nil } == RolloutState.initial(revision: 1))
        #expect(try await store.deleteRun("demo"))
        #expect(try await store.run("demo") == nil)
    }

    /// A revision and its rollout commit together, with their events.
    @Test(arguments: StoreUnderTest.Kind.allCases) func aRevisionAndItsRolloutCommitTogether(_ kind: StoreUnderTest.Kind) async throws {
        let store = try await StoreUnderTest(kind).open()
        var apply = request(hash: "a")
        apply.rollout = { revision, previous in
            #expect(previous == nil)
            return (RolloutState.initial(revision: revision), ["rollout of \(revision) planned"])
        }
        _ = try await store.apply(apply)
        #expect(try await store.rolloutState(of: "demo") == RolloutState.initial(revision: 1))
        #expect(try await store.events(of: "demo", after: 0, limit: 10).map(\.kind) == ["Applied", "Rollout"])
    }

    /// Event ids are contiguous and in order, however many writers append at once: a reader that pages by id
    /// never skips one.
    @Test(arguments: StoreUnderTest.Kind.allCases) func eventIdsAreContiguousUnderConcurrentWriters(_ kind: StoreUnderTest.Kind) async throws {
        let store = try await StoreUnderTest(kind).open()
        _ = try await store.apply(request(hash: "a"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for index in 0..<10 {
                        if index % 2 == 0 {
                            _ = try await store.appendEvent(run: "demo", kind: "One", message: "\(writer)-\(index)", now: self.now)
                        } else {
                            try await store.appendEvents(run: "demo", [("Two", "\(writer)-\(index)a"), ("Two", "\(writer)-\(index)b")], now: self.now)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let events = try await store.events(of: "demo", after: 0, limit: 1000)
        #expect(events.count == 1 + 8 * 15)
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.id + 1 == $1.id })
        let page = try await store.events(of: "demo", after: events[9].id, limit: 5)
        #expect(page.map(\.id) == Array(events[10..<15]).map(\.id))
    }

    @Test(arguments: StoreUnderTest.Kind.allCases) func theDataKeyIsMadeOnceAndOnlyForARun(_ kind: StoreUnderTest.Kind) async throws {
        let store = try await StoreUnderTest(kind).open()
        #expect(try await store.dataKey(of: "demo") == nil)
        _ = try await store.apply(request(hash: "a"))
        let key = try #require(try await store.dataKey(of: "demo"))
        #expect(key.count == 64)
        #expect(try await store.dataKey(of: "demo") == key)
    }

    /// A token row naming a role this version does not know used to act as a viewer; it grants nothing now.
    @Test(arguments: StoreUnderTest.Kind.allCases) func aTokenWithAnUnknownRoleGrantsNothing(_ kind: StoreUnderTest.Kind) async throws {
        let location = try StoreUnderTest(kind)
        let issued = AccessToken.issue(role: .viewer, run: nil, site: nil, description: "", now: now)
        do {
            let store = try await location.open()
            try await store.saveToken(issued.record)
            #expect(try await store.token(id: issued.record.id)?.role == .viewer)
        }
        try await location.execute("UPDATE tokens SET role = 'root' WHERE id = '\(issued.record.id)'")
        let store = try await location.open()
        #expect(try await store.token(id: issued.record.id) == nil)
        #expect(try await store.tokens().isEmpty)
    }

    /// Tokens carry their expiry through the store; revoking deletes them.
    @Test(arguments: StoreUnderTest.Kind.allCases) func tokensExpireAndAreDeleted(_ kind: StoreUnderTest.Kind) async throws {
        let store = try await StoreUnderTest(kind).open()
        let issued = AccessToken.issue(role: .operator, run: nil, site: nil, description: "ci", now: now, expiresAt: now.addingTimeInterval(60))
        try await store.saveToken(issued.record)
        let loaded = try #require(try await store.token(id: issued.record.id))
        #expect(loaded == issued.record)
        #expect(loaded.expiresAt == now.addingTimeInterval(60) && !loaded.isExpired(at: now) && loaded.isExpired(at: now.addingTimeInterval(60)))
        #expect(try await store.deleteToken(id: issued.record.id))
        #expect(try await store.token(id: issued.record.id) == nil)
        #expect(try await store.deleteToken(id: issued.record.id) == false)
    }
}
