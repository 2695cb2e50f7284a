import Foundation
import IntermeshAPI
import IntermeshClient
import IntermeshServer
import IntermeshStore
import Testing

/// kill -9 of the server during a burst of applies: every acknowledged revision survives, byte for byte.
@Suite struct DurabilityTests {
    @Test func acknowledgedRevisionsSurviveKill9() async throws {
        let server = ServerProcess()
        try server.start()
        let api = server.client()
        let ledger = Ledger()
        let burst = Task {
            for replicas in 1...400 {
                let text = spec(replicas: replicas)
                guard let response = try? await api.post("/v1/runs", json: ["spec": text]) as ApplyResponse else { return }
                await ledger.record(response.revision, text)
            }
        }
        // Let some applies land, then kill the server mid-burst.
        while await ledger.count < 20 { try await Task.sleep(for: .milliseconds(20)) }
        server.kill9()
        _ = await burst.value
        let acknowledged = await ledger.entries
        #expect(acknowledged.count >= 20)

        // Restart on the same data directory.
        let restarted = ServerProcess(data: server.data)
        try restarted.start()
        restarted.adminToken = server.adminToken
        let after = restarted.client()
        let revisions: [RevisionSummary] = try await after.get("/v1/runs/demo/revisions")
        // Numbers are contiguous (nothing half-written) and cover every acknowledged revision.
        #expect(revisions.map(\.number) == Array(1...revisions.count))
        #expect(revisions.count >= acknowledged.keys.max() ?? 0)
        for (number, text) in acknowledged {
            let revision: RevisionRecord = try await after.get("/v1/runs/demo/revisions/\(number)")
            #expect(revision.specText == text, "revision \(number) differs")
            #expect(!revision.plan.isEmpty && !revision.canonical.isEmpty)
        }
        restarted.stop()
    }
}

/// Revisions the server acknowledged, and their spec text.
actor Ledger {
    var entries: [Int: String] = [:]
    var count: Int { entries.count }

    func record(_ revision: Int, _ text: String) { entries[revision] = text }
}
