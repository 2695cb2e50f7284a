import Foundation
import IntermeshAPI
import IntermeshClient
import IntermeshServer
import Testing

/// The API against a real server on loopback: malformed input gets a 4xx JSON error, never a 500.
@Suite(.serialized) struct APITests {
    let server = ServerProcess()

    init() throws {
        try server.start()
    }

    @Test func applyCreatesUpdatesAndIgnoresIdenticalSpecs() async throws {
        let api = server.client()
        let created: ApplyResponse = try await api.post("/v1/runs", json: ["spec": spec()])
        #expect(created.outcome == .created && created.revision == 1)
        let same: ApplyResponse = try await api.post("/v1/runs", json: ["spec": spec()])
        #expect(same.outcome == .unchanged && same.revision == 1)
        let updated: ApplyResponse = try await api.post("/v1/runs", json: ["spec": spec(replicas: 2), "checkRevision": 1])
        #expect(updated.outcome == .updated && updated.revision == 2)
        let runs: [RunSummary] = try await api.get("/v1/runs")
        #expect(runs.map(\.name) == ["demo"] && runs[0].replicas == 4)
        let description: RunDescription = try await api.get("/v1/runs/demo")
        #expect(description.activeRevision == 2 && description.sites.map(\.desired) == [2, 2])
    }

    @Test func staleCheckRevisionIsAConflict() async throws {
        let api = server.client()
        _ = try await api.post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        await expectError(409, "conflict") { _ = try await api.post("/v1/runs", json: ["spec": spec(replicas: 3), "checkRevision": 7]) as ApplyResponse }
        let revisions: [RevisionSummary] = try await api.get("/v1/runs/demo/revisions")
        #expect(revisions.count == 1)
    }

    @Test func missingAndInvalidTokensAre401() async throws {
        await expectError(401, "unauthorized") { _ = try await server.client(token: "").send(.GET, "/v1/runs") }
        await expectError(401, "unauthorized") { _ = try await APIClient(server: "http://127.0.0.1:\(server.port)", token: nil, environment: [:]).send(.GET, "/v1/runs") }
        let forged = "imt_0123456789_" + String(repeating: "ab", count: 24)
        await expectError(401, "unauthorized") { _ = try await server.client(token: forged).send(.GET, "/v1/runs") }
    }

    @Test func malformedBodiesAre4xx() async throws {
        let api = server.client()
        await expectError(400, "bad_request") { _ = try await api.send(.POST, "/v1/runs", body: Data("{not json".utf8)) }
        await expectError(400, "bad_request") { _ = try await api.send(.POST, "/v1/runs", body: Data("{\"spec\": 3}".utf8)) }
        await expectError(400, "bad_request") { _ = try await api.send(.POST, "/v1/runs", body: Data("{}".utf8)) }
        await expectError(400, "bad_request") { _ = try await api.send(.POST, "/v1/runs", body: Data()) }
        await expectError(413, "too_large") {
            _ = try await api.send(.POST, "/v1/runs", body: Data(repeating: UInt8(ascii: " "), count: 6 * 1024 * 1024))
        }
        await expectError(422, "invalid_spec") { _ = try await api.post("/v1/runs", json: ["spec": "apiVersion: intermesh/v1\nkind: [\n"]) as ApplyResponse }
        await expectError(404, "not_found") { _ = try await api.send(.GET, "/v1/runs/nope") }
        await expectError(400, "bad_request") { _ = try await api.send(.GET, "/v1/runs/demo/revisions/abc") }
    }

    @Test func heartbeatsWithBadMemberIdsAre400() async throws {
        let api = server.client()
        _ = try await api.post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        for id in ["", "é-accent", "has space", "semi;colon", String(repeating: "a", count: 65)] {
            await expectError(400, "bad_request") {
                _ = try await api.send(.POST, "/v1/runs/demo/sites/alpha/heartbeats",
                                       body: try JSONSerialization.data(withJSONObject: ["members": [["id": id, "slot": "alpha/0", "state": "training"]]]))
            }
        }
        let accepted: HeartbeatResponse = try await api.post("/v1/runs/demo/sites/alpha/heartbeats",
                                                             json: ["members": [["id": String(repeating: "a", count: 64), "slot": "alpha/0", "state": "training"]]])
        #expect(accepted.activeRevision == 1)
    }

    @Test func aSecondServerOnTheSameDataDirectoryIsRefused() throws {
        let second = Process()
        second.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        second.arguments = ["serve", "--data", server.data.path, "--listen", "127.0.0.1:0"]
        let pipe = Pipe()
        second.standardOutput = pipe
        second.standardError = pipe
        try second.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        second.waitUntilExit()
        #expect(second.terminationStatus != 0)
        #expect(output.contains("cannot open the store: another process (pid \(server.process?.processIdentifier ?? 0)) has it open"), "\(output)")
    }

    @Test func metricsAreServedInPrometheusFormatToAnyToken() async throws {
        let admin = server.client()
        _ = try await admin.post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        await expectError(401, "unauthorized") { _ = try await server.client(token: "").send(.GET, "/v1/metrics") }
        let viewer: TokenResponse = try await admin.post("/v1/tokens", json: ["role": "viewer"])
        let agent: TokenResponse = try await admin.post("/v1/tokens", json: ["role": "agent", "run": "demo", "site": "alpha"])
        let beat: HeartbeatResponse = try await server.client(token: agent.token).post(
            "/v1/runs/demo/sites/alpha/heartbeats", json: ["members": [["id": "m1", "slot": "alpha/0", "state": "training"]]])
        #expect(beat.activeRevision == 1)
        // The reconcile loop (every 0.25 s) records the member count and its passes.
        var series: [String: Double] = [:]
        let deadline = Date().addingTimeInterval(10)
        repeat {
            try await Task.sleep(for: .milliseconds(300))
            series = try await server.client(token: viewer.token).metrics()
        } while Date() < deadline && (series[#"intermesh_members{run="demo"}"#] != 1 || series[#"intermesh_reconcile_pass_seconds_count{kind="check"}"#] == nil)
        #expect(series[#"hb_requests{http_route="/v1/runs",http_request_method="POST",http_response_status_code="201"}"#] == 1, "\(series)")
        #expect(series[#"http_server_request_duration_count{http_route="/v1/runs/{run}/sites/{site}/heartbeats",http_request_method="POST",http_response_status_code="200"}"#] == 1)
        #expect(series[#"intermesh_heartbeat_members_total{run="demo"}"#] == 1)
        #expect(series[#"intermesh_members{run="demo"}"#] == 1)
        #expect((series[#"intermesh_reconcile_pass_seconds_count{kind="full"}"#] ?? 0) >= 1)
        #expect((series[#"intermesh_reconcile_pass_seconds_count{kind="check"}"#] ?? 0) >= 1)
    }

    @Test func rolesAndSiteScopesAreEnforced() async throws {
        let admin = server.client()
        _ = try await admin.post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        let viewer: TokenResponse = try await admin.post("/v1/tokens", json: ["role": "viewer"])
        let alpha: TokenResponse = try await admin.post("/v1/tokens", json: ["role": "agent", "run": "demo", "site": "alpha"])
        let asViewer = server.client(token: viewer.token)
        _ = try await asViewer.send(.GET, "/v1/runs/demo")
        await expectError(403, "forbidden") { _ = try await asViewer.post("/v1/runs", json: ["spec": spec(replicas: 2)]) as ApplyResponse }
        await expectError(403, "forbidden") { _ = try await asViewer.post("/v1/tokens", json: ["role": "admin"]) as TokenResponse }
        let asAlpha = server.client(token: alpha.token)
        _ = try await asAlpha.send(.GET, "/v1/runs/demo/sites/alpha/plan")
        await expectError(403, "forbidden") { _ = try await asAlpha.send(.GET, "/v1/runs/demo/sites/beta/plan") }
        await expectError(400, "bad_request") { _ = try await admin.post("/v1/tokens", json: ["role": "agent", "run": "demo"]) as TokenResponse }
    }

    @Test func eventsFollowOverServerSentEvents() async throws {
        let api = server.client()
        _ = try await api.post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        let stream = try await api.events("/v1/runs/demo/events?follow=true")
        var iterator = stream.makeAsyncIterator()
        let first = try #require(try await iterator.next())
        #expect(String(decoding: first, as: UTF8.self).contains("revision 1 applied by"))
        // A later event arrives on the open stream.
        _ = try await api.send(.POST, "/v1/runs/demo/stop")
        let second = try #require(try await iterator.next())
        #expect(String(decoding: second, as: UTF8.self).contains("run stopped by admin"))
        await expectError(401, "unauthorized") { _ = try await server.client(token: "").events("/v1/runs/demo/events?follow=true") }
    }

    @Test func openAPIDocumentIsServedWithoutAToken() async throws {
        let (_, body) = try await server.client(token: "").send(.GET, "/v1/openapi.json")
        let document = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: Any])
        for path in ["/v1/runs", "/v1/runs/{run}/resume", "/v1/runs/{run}/sites/{site}/intent", "/v1/runs/{run}/sites/{site}/schedule"] {
            #expect(paths[path] != nil, "\(path) is not documented")
        }
    }

    @Test func tokensNeverReachTheLogOrEvents() async throws {
        let admin = server.client()
        let created: TokenResponse = try await admin.post("/v1/tokens", json: ["role": "operator"])
        _ = try await server.client(token: created.token).post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        let events = String(decoding: try await admin.send(.GET, "/v1/runs/demo/events").body, as: UTF8.self)
        let log = try String(contentsOf: server.output, encoding: .utf8)
        let secret = String(created.token.split(separator: "_").last!)
        #expect(!events.contains(secret) && !log.contains(secret))
        #expect(events.contains("operator:\(created.id)"))
    }
}
