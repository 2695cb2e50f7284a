import Foundation
import IntermeshAPI
import IntermeshClient
import Testing
@testable import IntermeshTrainer

/// A rogue process on the replicas' machine connects to their ring and recovery ports while `up` trains: it sends
/// forged hellos, forged chunks and snapshot requests without the run's key. Training goes on, parameters stay
/// identical, and the attempts show in the control plane's metrics and events.
@Suite(.serialized) struct DataPlaneSecurityTests {
    @Test func forgedRingAndRecoveryTrafficIsRefusedAndTrainingGoesOn() async throws {
        let up = UpProcess(port: 7761)
        defer { up.cleanUp() }
        try up.up("specs/local.yaml")
        try await up.wait("3 replicas training", timeout: 120) { try await up.members("local-demo").filter { $0.outerStep >= 2 }.count == 3 }
        // `up` serves TLS by default, and its replicas reached it (above) with its authority: plain HTTP gets nothing
        // from the port, and a client that does not trust the authority refuses the server.
        #expect(up.text.contains("control plane on https://127.0.0.1:7761"))
        for client in [APIClient(server: "http://127.0.0.1:7761", token: up.adminToken, environment: [:], timeout: .seconds(5)),
                       APIClient(server: up.server, token: up.adminToken, environment: [:], timeout: .seconds(5))] {
            await #expect { _ = try await client.runs() } throws: { ($0 as? APIClientError)?.status == 0 }
        }
        let alpha = try #require(try await up.members("local-demo").first { $0.slot == "alpha/0" }?.address)
        let start = try await up.outerStep("local-demo")

        // Forged hellos for the quorums about now, each followed by a chunk; snapshot requests without the key.
        let rogueKey = DataPlaneKey(hex: String(repeating: "00", count: 32))
        for quorum in 1...40 {
            if let socket = try? Socket.connect(host: "127.0.0.1", port: alpha.ringPort, timeout: 1) {
                try? socket.send(RingEndpoint.hello(quorum: UInt64(quorum), from: 2, key: rogueKey))
                try? socket.send(RingAllReduce.encode([Float](repeating: 1e6, count: 64), quantize: false) + [UInt8](repeating: 0, count: 16))
                socket.close()
            }
        }
        for request in [ControlRequest.snapshot(after: 0), .status, .leave(member: 0)] {
            let reply = try? ControlReply.call(host: "127.0.0.1", port: alpha.controlPort, request, key: nil, timeout: 2)
            #expect(reply == nil, "the recovery port answered a request without the key")
        }
        // A connection that says nothing does not hold the ports either.
        let silent = try Socket.connect(host: "127.0.0.1", port: alpha.ringPort, timeout: 1)
        defer { silent.close() }

        try await up.wait("three more outer steps", timeout: 120) { try await up.outerStep("local-demo") >= start + 3 }
        var hashes: [Int: Set<String>] = [:]
        for site in ["alpha", "beta", "gamma"] {
            for event in up.outerEvents(site: site) {
                if let step = event["outer_step"] as? Int, let hash = event["hash"] as? String { hashes[step, default: []].insert(hash) }
            }
        }
        #expect(hashes.values.allSatisfy { $0.count == 1 }, "steps with differing parameters: \(hashes.filter { $0.value.count > 1 }.keys.sorted())")
        let rejected = up.log(site: "alpha").filter { $0["event"] as? String == "rejected" }
        #expect(rejected.count >= 40, "alpha logged \(rejected.count) refusals")

        try await up.wait("the refusals in events and metrics", timeout: 30) {
            let events = try await up.client().events(of: "local-demo")
            let metrics = try await up.client().metrics()
            let counted = metrics.first { $0.key.hasPrefix("intermesh_dataplane_rejected_total") }?.value ?? 0
            return events.contains { $0.kind == "DataPlaneRejected" && $0.message.contains("alpha/0") } && counted >= 40
        }
        // The key is in no plan, revision or log the control plane writes.
        let key = try await up.client().dataKey(run: "local-demo", site: "alpha").key
        let revision = try await up.client().revision(of: "local-demo", number: 1)
        #expect(!revision.plan.contains(key) && !revision.specText.contains(key))
        #expect(!up.text.contains(key))
        #expect(try up.interrupt() == 0)
    }
}
