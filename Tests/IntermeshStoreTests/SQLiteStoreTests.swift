import Foundation
import IntermeshAPI
import IntermeshControl
import Testing
@testable import IntermeshStore

/// What only the embedded store does (one process per directory), and the pure pieces both stores use. The store
/// protocol's contract is `StoreContractTests`, run against SQLite and PostgreSQL.
@Suite struct SQLiteStoreTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID())")
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    func request(_ run: String = "demo", hash: String, check: Int? = nil) -> ApplyRequest {
        ApplyRequest(run: run, specText: "spec \(hash)", canonical: "{\"c\":\"\(hash)\"}", plan: "{\"p\":\"\(hash)\"}",
                     contentHash: hash, appliedBy: "admin:test", checkRevision: check, now: now)
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

    /// A token deleted behind the store's back (with sqlite3) stops working within the cache's age, not at restart.
    @Test func cachedEntriesAreReadAgainOnceOld() async throws {
        let cache = ReadThroughCache<String>(maxAge: .milliseconds(50))
        #expect(try await cache.value("k") { "v" } == "v")
        #expect(try await cache.value("k") { nil } == "v")
        try await Task.sleep(for: .milliseconds(80))
        #expect(try await cache.value("k") { nil } == nil)
        #expect(try await cache.value("k") { "w" } == "w")
    }
}
