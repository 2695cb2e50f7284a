import AsyncHTTPClient
import Foundation
import IntermeshAPI
import IntermeshClient
import NIOCore
import NIOHTTP1
import Testing

/// The console's page, its sign-in and its cookie session against a real server: what a browser would send.
@Suite(.serialized) struct ConsoleTests {
    let server = ServerProcess()
    let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))

    init() throws {
        try server.start()
    }

    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: String

        /// The `Set-Cookie` header of `name`, whole.
        func setCookie(_ name: String) -> String? {
            headers["set-cookie"].first { $0.hasPrefix(name + "=") }
        }

        /// A cookie's value from its `Set-Cookie` header.
        func cookie(_ name: String) -> String? {
            setCookie(name).map { String($0.dropFirst(name.count + 1).prefix { $0 != ";" }) }
        }
    }

    func request(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)\(path)")
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await http.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    /// Signs in with a token through the form; returns the session's two cookie values.
    func signIn(_ token: String) async throws -> (session: String, csrf: String) {
        let answer = try await request(.POST, "/console/sign-in", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                       body: "token=\(token)")
        #expect(answer.status == 303 && answer.headers["location"].first == "/")
        return (try #require(answer.cookie("intermesh_session")), try #require(answer.cookie("intermesh_csrf")))
    }

    @Test func thePageAndAssetsAreServedWithAPolicyAndUnknownFilesAre404() async throws {
        defer { Task { try? await http.shutdown() } }
        let page = try await request(.GET, "/")
        #expect(page.status == 200 && page.body.contains("/console/console.js"))
        #expect(page.headers["content-type"].first == "text/html; charset=utf-8")
        #expect(page.headers["content-security-policy"].first?.contains("default-src 'self'") == true)
        #expect(page.headers["x-content-type-options"].first == "nosniff")
        let script = try await request(.GET, "/console/console.js")
        #expect(script.status == 200 && script.body.contains("EventSource"))
        #expect(try await request(.GET, "/console/secrets.txt").status == 404)
        // The API stays under /v1 and still wants a token.
        #expect(try await request(.GET, "/v1/runs").status == 401)
    }

    @Test func signingInSetsAStrictHttpOnlySessionAndRefusesBadTokens() async throws {
        defer { Task { try? await http.shutdown() } }
        let form = [("Content-Type", "application/x-www-form-urlencoded")]
        let answer = try await request(.POST, "/console/sign-in", headers: form, body: "token=\(server.adminToken)")
        #expect(answer.status == 303)
        let session = try #require(answer.setCookie("intermesh_session"))
        #expect(session.contains("HttpOnly") && session.contains("SameSite=Strict") && session.contains("Path=/"))
        // Plain HTTP here (loopback): not Secure; the browser test checks Secure over TLS.
        #expect(!session.contains("Secure"))
        let csrf = try #require(answer.setCookie("intermesh_csrf"))
        #expect(!csrf.contains("HttpOnly") && csrf.contains("SameSite=Strict"))

        for (body, reason) in [("token=imt_nope_nope", "invalid"), ("token=", "invalid"), ("nothing", "invalid")] {
            let refused = try await request(.POST, "/console/sign-in", headers: form, body: body)
            #expect(refused.status == 303 && refused.headers["location"].first == "/?signin=\(reason)" && refused.setCookie("intermesh_session") == nil)
        }
        _ = try await server.client().post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        let agent: TokenResponse = try await server.client().post("/v1/tokens", json: ["role": "agent", "run": "demo", "site": "alpha"])
        let agentAnswer = try await request(.POST, "/console/sign-in", headers: form, body: "token=\(agent.token)")
        #expect(agentAnswer.headers["location"].first == "/?signin=agent" && agentAnswer.setCookie("intermesh_session") == nil)
        // Another site's form cannot sign a browser in.
        let crossSite = try await request(.POST, "/console/sign-in", headers: form + [("Origin", "https://evil.example")],
                                          body: "token=\(server.adminToken)")
        #expect(crossSite.status == 403)
    }

    @Test func aCookieWriteNeedsTheCSRFHeaderAndTheSameOriginAndRolesStillApply() async throws {
        defer { Task { try? await http.shutdown() } }
        _ = try await server.client().post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        let (session, csrf) = try await signIn(server.adminToken)
        let cookies = ("Cookie", "intermesh_session=\(session); intermesh_csrf=\(csrf)")
        let who = try await request(.GET, "/v1/whoami", headers: [cookies])
        #expect(who.status == 200 && who.body.contains("\"role\":\"admin\""))

        let origin = ("Origin", "http://127.0.0.1:\(server.port)")
        let cases: [(headers: [(String, String)], status: Int, why: String)] = [
            ([cookies], 403, "no CSRF header"),
            ([cookies, ("X-Intermesh-CSRF", "0000")], 403, "a wrong CSRF value"),
            ([cookies, ("X-Intermesh-CSRF", csrf), ("Origin", "https://evil.example")], 403, "another origin"),
            ([("Cookie", "intermesh_session=\(session)"), ("X-Intermesh-CSRF", csrf)], 403, "no CSRF cookie"),
            ([cookies, ("X-Intermesh-CSRF", csrf), origin], 200, "the console's own request"),
            ([cookies, ("X-Intermesh-CSRF", csrf)], 200, "no Origin (same-origin requests may omit it)"),
        ]
        for (index, test) in cases.enumerated() {
            let verb = index % 2 == 0 ? "pause" : "resume"
            let answer = try await request(.POST, "/v1/runs/demo/rollout/\(verb)", headers: test.headers)
            #expect(answer.status == test.status, "\(test.why): \(answer.body)")
            if test.status == 403 { #expect(answer.body.contains("cross-site"), "\(test.why)") }
        }
        // A bearer token needs no CSRF header: only cookies ride along with another site's requests.
        let paused: RolloutStatus = try await server.client().post("/v1/runs/demo/rollout/pause", json: [:])
        #expect(paused.paused)

        // A viewer's cookie with a valid CSRF header is still a viewer: 403, and the run keeps running.
        let viewer: TokenResponse = try await server.client().post("/v1/tokens", json: ["role": "viewer"])
        let viewerSession = try await signIn(viewer.token)
        let forged = try await request(.POST, "/v1/runs/demo/stop", headers: [
            ("Cookie", "intermesh_session=\(viewerSession.session); intermesh_csrf=\(viewerSession.csrf)"), ("X-Intermesh-CSRF", viewerSession.csrf),
        ])
        #expect(forged.status == 403 && forged.body.contains("viewer"))
        let run: RunDescription = try await server.client().get("/v1/runs/demo")
        #expect(run.phase == .running)

        // Signing out clears both cookies.
        let out = try await request(.POST, "/console/sign-out", headers: [cookies])
        #expect(out.status == 303 && out.setCookie("intermesh_session")?.contains("Max-Age=0") == true)
    }

    @Test func theViewShowsEachSlotsHealthAndTheSeriesKeepWhatMembersReport() async throws {
        defer { Task { try? await http.shutdown() } }
        let api = server.client()
        _ = try await api.post("/v1/runs", json: ["spec": spec(replicas: 2)]) as ApplyResponse
        for step in 1...3 {
            let beat = HeartbeatBody(members: [
                MemberBeat(id: "m-a0", slot: "alpha/0", state: .training, outerStep: step, loss: 5.0 - Double(step),
                           evalBySource: ["prose": 4.0 - Double(step) / 10]),
                MemberBeat(id: "m-b0", slot: "beta/0", state: .training, outerStep: step, loss: 5.5 - Double(step)),
            ])
            _ = try await api.post("/v1/runs/demo/sites/alpha/heartbeats", HeartbeatBody(members: [beat.members[0]])) as HeartbeatResponse
            _ = try await api.post("/v1/runs/demo/sites/beta/heartbeats", HeartbeatBody(members: [beat.members[1]])) as HeartbeatResponse
        }
        let view: RunView = try await api.get("/v1/runs/demo/view")
        let health = Dictionary(uniqueKeysWithValues: view.sites.flatMap(\.slots).map { ($0.slot, $0.health) })
        #expect(health == ["alpha/0": .live, "alpha/1": .missing, "beta/0": .live, "beta/1": .missing])
        #expect(view.live == 2 && view.desired == 4 && view.outerStep == 3)
        #expect(view.sites.map(\.bandwidth) == ["1Gbps", "1Gbps"])

        let series: RunSeries = try await api.get("/v1/runs/demo/series")
        #expect(series.loss["alpha/0"] == [[1, 4], [2, 3], [3, 2]])
        #expect(series.loss["beta/0"]?.count == 3)
        #expect(series.eval["prose"]?.map { $0[0] } == [1, 2, 3])

        // A member that leaves: its slot is lost (it had a member), not missing.
        _ = try await api.post("/v1/runs/demo/sites/alpha/agent",
                               AgentReport(launched: [LaunchReport(slot: "alpha/0", member: "m-a0", incarnation: 1, pid: nil)], exited: [])) as AgentResponse
        _ = try await api.post("/v1/runs/demo/sites/alpha/agent",
                               AgentReport(launched: [], exited: [ExitReport(slot: "alpha/0", member: "m-a0", code: 137, signal: 9, lastLines: [])])) as AgentResponse
        let after: RunView = try await api.get("/v1/runs/demo/view")
        #expect(after.sites[0].slots[0].health == .lost && after.live == 1)

        // A viewer reads the view; an agent does not (it names other sites' members).
        let agent: TokenResponse = try await api.post("/v1/tokens", json: ["role": "agent", "run": "demo", "site": "alpha"])
        await expectError(403, "forbidden") { _ = try await server.client(token: agent.token).get("/v1/runs/demo/view") as RunView }
    }

    @Test func theViewStreamCarriesTheViewTheSeriesAndTheEventsAndEndsWhenTheServerStops() async throws {
        defer { Task { try? await http.shutdown() } }
        _ = try await server.client().post("/v1/runs", json: ["spec": spec()]) as ApplyResponse
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/v1/runs/demo/view?watch=true")
        request.headers.add(name: "Authorization", value: "Bearer \(server.adminToken)")
        let response = try await http.execute(request, timeout: .seconds(60))
        #expect(response.headers["content-type"].first == "text/event-stream")
        var text = ""
        var parts = response.body.makeAsyncIterator()
        while !(text.contains("event: view") && text.contains("event: series") && text.contains("event: event")) {
            guard let part = try await parts.next() else { break }
            text += String(buffer: part)
        }
        #expect(text.contains("event: view\ndata: {"))
        #expect(text.contains("id: 1\nevent: event\ndata: {"), "the run's first event, with its id")

        // An open stream does not hold the server's graceful shutdown: SIGTERM ends the stream and the process.
        let process = try #require(server.process)
        process.terminate()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!process.isRunning, "the server exits with a stream open")
        while let part = try? await parts.next() { _ = part }
    }

    @Test func aCanarysGateShowsTheCanariesLossAgainstTheOthersAndTheTolerance() async throws {
        defer { Task { try? await http.shutdown() } }
        let api = server.client()
        let base = spec() + "  rollout: {canarySites: [alpha], promotion: {lossTolerance: 0.1}}\n"
        _ = try await api.post("/v1/runs", json: ["spec": base]) as ApplyResponse
        func beat(step: Int, revision: Int, alpha: Double, beta: Double) async throws {
            _ = try await api.post("/v1/runs/demo/sites/alpha/heartbeats", HeartbeatBody(members: [
                MemberBeat(id: "m-a0", slot: "alpha/0", state: .training, outerStep: step, acknowledged: revision, activeRevision: revision, evalLoss: alpha),
            ])) as HeartbeatResponse
            _ = try await api.post("/v1/runs/demo/sites/beta/heartbeats", HeartbeatBody(members: [
                MemberBeat(id: "m-b0", slot: "beta/0", state: .training, outerStep: step, acknowledged: 1, activeRevision: 1, evalLoss: beta),
            ])) as HeartbeatResponse
        }
        try await beat(step: 1, revision: 1, alpha: 3, beta: 3)
        let canary = base.replacingOccurrences(of: "{name: alpha, replicas: 1}", with: "{name: alpha, replicas: 1, innerLr: 2.5e-3}")
        _ = try await api.post("/v1/runs", json: ["spec": canary]) as ApplyResponse
        try await beat(step: 2, revision: 2, alpha: 2.4, beta: 2.0)
        let view: RunView = try await api.get("/v1/runs/demo/view")
        #expect(view.rollout.rollout?.strategy == .canary && view.rollout.rollout?.revision == 2)
        let gate = try #require(view.gate)
        #expect(gate.canarySites == ["alpha"] && gate.canaryLoss == 2.4 && gate.otherLoss == 2.0 && gate.tolerance == 0.1)

        // History names the canary's field with its class and site.
        let history: [HistoryEntry] = try await api.get("/v1/runs/demo/rollout/history")
        #expect(history[1].fields == [FieldChange(path: "spec.sites[alpha].innerLr", kind: "+", old: nil, new: "0.0025", changeClass: "site-local", site: "alpha")])
    }
}
