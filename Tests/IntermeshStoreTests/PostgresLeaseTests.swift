import Foundation
import IntermeshAPI
import TestServices
import Testing
@testable import IntermeshStore

/// The active server's lease on a shared PostgreSQL store, and the fence on every write.
@Suite(.serialized) struct PostgresLeaseTests {
    func open(_ database: String) async throws -> PostgresStore {
        let cluster = try PostgresCluster.start()
        return try await PostgresStore(try PostgresLocation(url: database, environment: ["PGPASSWORD": cluster.password]))
    }

    func apply(_ store: PostgresStore, _ run: String) async throws -> ApplyOutcome {
        try await store.apply(ApplyRequest(run: run, specText: "spec", canonical: "{}", plan: "{}", contentHash: run, appliedBy: "admin:test",
                                           checkRevision: nil, now: Date()))
    }

    @Test func oneServerHoldsTheLeaseUntilItEndsAndAFencedWriterStopsWritingAfterATakeover() async throws {
        let database = try PostgresCluster.start().createDatabase()
        let first = try await open(database), second = try await open(database)

        let epoch = try #require(try await first.acquireLease(holder: "first", address: "https://a:7700", ttl: .seconds(2)))
        first.fence(holder: "first", epoch: epoch)
        #expect(try await second.acquireLease(holder: "second", address: "https://b:7700", ttl: .seconds(2)) == nil, "held: not taken")
        let seen = try await second.currentLease()
        #expect(seen.holder == "first" && seen.address == "https://a:7700" && seen.epoch == epoch && seen.remaining > 0)
        #expect(try await first.renewLease(holder: "first", epoch: epoch, ttl: .seconds(2)))
        _ = try await apply(first, "written-while-held")

        // The first stops renewing (paused, cut off): once the lease ends on the database's clock, the second takes it.
        try await Task.sleep(for: .milliseconds(2300))
        let next = try #require(try await second.acquireLease(holder: "second", address: "https://b:7700", ttl: .seconds(30)))
        #expect(next == epoch + 1)
        second.fence(holder: "second", epoch: next)

        // The first comes back: every write is refused, nothing of it lands, and it cannot renew.
        await #expect(throws: StoreError(code: .fenced, message: "this server's lease on the store ended (epoch \(epoch)): another server may be active")) {
            _ = try await apply(first, "written-after-the-takeover")
        }
        await #expect(throws: StoreError.self) { _ = try await first.appendEvent(run: "written-while-held", kind: "Late", message: "x", now: Date()) }
        await #expect(throws: StoreError.self) { try await first.setPhase(.stopped, of: "written-while-held", now: Date()) }
        #expect(try await first.renewLease(holder: "first", epoch: epoch, ttl: .seconds(2)) == false)
        #expect(try await second.run("written-after-the-takeover") == nil)
        #expect(try await second.events(of: "written-while-held", after: 0, limit: 100).allSatisfy { $0.kind != "Late" })
        #expect(try await second.run("written-while-held")?.phase != .stopped)

        // The new holder writes; releasing ends its lease at once for the next one.
        _ = try await apply(second, "written-by-the-second")
        try await second.releaseLease(holder: "second", epoch: next)
        #expect(try await first.acquireLease(holder: "third", address: "https://c:7700", ttl: .seconds(2)) == next + 1)
        await #expect(throws: StoreError.self) { _ = try await apply(second, "after-release") }
    }
}
