import Foundation
import Hummingbird
import IntermeshAPI
import IntermeshControl
import IntermeshPlan
import IntermeshStore
import ServiceLifecycle

/// The HTTP API under /v1.
struct API {
    let plane: ControlPlane
    let reconciliation: Reconciliation
    let board: QuorumBoard

    func register(on router: Router<ServerContext>) {
        router.get("/v1/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        router.get("/v1/metrics") { _, context in
            _ = try context.requireReader()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: ServerMetrics.exposition())))
        }
        router.get("/v1/server") { _, context in
            _ = try context.requireReader()
            return try await JSONBody.response(serverInfo())
        }
        router.post("/v1/runs") { request, context in try await apply(request, context) }
        router.get("/v1/runs") { _, context in try await list(context) }
        router.get("/v1/runs/:run") { _, context in try await describe(context) }
        router.post("/v1/runs/:run/stop") { _, context in try await stop(context) }
        router.post("/v1/runs/:run/resume") { _, context in try await resume(context) }
        router.delete("/v1/runs/:run") { _, context in try await delete(context) }
        router.get("/v1/runs/:run/revisions") { _, context in try await revisions(context) }
        router.get("/v1/runs/:run/revisions/:number") { _, context in try await revision(context) }
        router.get("/v1/runs/:run/events") { request, context in try await events(request, context) }
        router.get("/v1/runs/:run/sites/:site/plan") { _, context in try await sitePlan(context) }
        router.post("/v1/tokens") { request, context in try await createToken(request, context) }
        router.get("/v1/tokens") { _, context in try await listTokens(context) }
        router.delete("/v1/tokens/:id") { _, context in try await revokeToken(context) }
        router.post("/v1/runs/:run/sites/:site/heartbeats") { request, context in try await heartbeats(request, context) }
        router.get("/v1/runs/:run/diff") { _, context in try await diff(context) }
        router.get("/v1/runs/:run/members") { _, context in try await members(context) }
        router.get("/v1/runs/:run/sites/:site/schedule") { request, context in try await schedule(request, context) }
        router.post("/v1/runs/:run/sites/:site/quorum") { request, context in try await quorum(request, context) }
        router.post("/v1/runs/:run/sites/:site/intent") { request, context in try await intent(request, context) }
        router.post("/v1/runs/:run/sites/:site/donor") { request, context in try await donor(request, context) }
        router.post("/v1/runs/:run/sites/:site/agent") { request, context in try await agentReport(request, context) }
        router.get("/v1/runs/:run/sites/:site/data-key") { _, context in try await dataKey(context) }
        registerRollouts(on: router)
        registerConsoleReads(on: router)
    }

    func runName(_ context: ServerContext) throws -> String {
        try context.parameters.require("run")
    }

    func apply(_ request: Request, _ context: ServerContext) async throws -> Response {
        let principal = try context.requireOperator()
        let body = try await JSONBody.decode(ApplyBody.self, from: request, context: context)
        let applied = try await plane.apply(specText: body.spec, checkRevision: body.checkRevision, by: principal)
        let revision = applied.outcome.revision
        let outcome = applied.outcome.wire
        return try JSONBody.response(ApplyResponse(run: revision.run, revision: revision.number, contentHash: revision.contentHash,
                                                   outcome: outcome, warnings: applied.warnings,
                                                   rollout: outcome == .updated ? await rolloutLine(run: revision.run, revision: revision.number) : nil),
                                     status: outcome == .created ? .created : .ok)
    }

    /// One line on how a revision rolls out, from the rollout the apply planned.
    func rolloutLine(run: String, revision: Int) async -> String? {
        guard let rollout = try? await plane.rolloutState(of: run)?.current, rollout.revision == revision else { return nil }
        switch rollout.phase {
        case .pending: return "\(rollout.strategy.rawValue): waiting, rollouts are paused (intermesh rollout resume \(run))"
        default:
            let sites = rollout.strategy == .canary ? "on canary site\(rollout.canarySites.count == 1 ? "" : "s") \(rollout.canarySites.joined(separator: ", "))"
                : "on every site"
            let relaunch = rollout.restartSites.isEmpty ? "" : "; relaunching \(rollout.restartSites.map { $0 == "*" ? "every site" : $0 }.joined(separator: ", ")) one replica at a time"
            return "\(rollout.strategy.rawValue): activates at outer step \(rollout.activationStep ?? 0) \(sites)\(relaunch)"
        }
    }

    func list(_ context: ServerContext) async throws -> Response {
        let principal = try context.require({ _ in true }, "list runs")
        var summaries: [RunSummary] = []
        for run in try await plane.store.runs() where principal.role != .agent || principal.run == run.name {
            let plan = try await plane.activePlan(of: run)
            summaries.append(RunSummary(name: run.name, phase: run.phase, revision: run.activeRevision, generation: run.generation,
                                        outerStep: run.outerStep, replicas: plan?.totalReplicas ?? 0, sites: plan?.sites.count ?? 0,
                                        updatedAt: run.updatedAt))
        }
        return try JSONBody.response(summaries)
    }

    func serverInfo() async throws -> ServerInfo {
        guard let lease = plane.lease else { return ServerInfo(role: .single) }
        let row = try? await lease.store.currentLease()
        return ServerInfo(role: .active, address: lease.address, active: lease.address, epoch: lease.epoch, leaseRemaining: row?.remaining)
    }

    func describe(_ context: ServerContext) async throws -> Response {
        let name = try runName(context)
        _ = try context.requireReader(run: name)
        let run = try await plane.requireRun(name)
        guard let revision = try await plane.store.revision(of: name, number: run.activeRevision),
              let plan = try await plane.activePlan(of: run) else { throw APIError.notFound("run \(name) has no active revision") }
        let members = await plane.members.members(of: name)
        let quarantined = Set(try await plane.store.slots(of: name).filter(\.value.quarantined).keys)
        let timeout = await plane.heartbeatTimeout(of: run, plan: plan)
        let live = members.filter { $0.isLive(at: plane.now(), timeout: timeout) }
        let sites = plan.sites.map { site in
            SiteStatus(name: site.name, launcher: site.launcher.rawValue, desired: site.replicas.count,
                       live: members.filter { $0.site == site.name && !$0.leaving }.count, slots: site.replicas.map(\.slot),
                       quarantined: site.replicas.map(\.slot).filter(quarantined.contains),
                       link: plan.link(of: site.name, live: live))
        }
        return try JSONBody.response(RunDescription(
            name: run.name, phase: run.phase, generation: run.generation, activeRevision: run.activeRevision,
            contentHash: revision.contentHash, appliedBy: revision.appliedBy, appliedAt: revision.appliedAt,
            outerStep: run.outerStep, conditions: run.conditions, sites: sites))
    }

    func stop(_ context: ServerContext) async throws -> Response {
        let principal = try context.requireOperator()
        let name = try runName(context)
        _ = try await plane.requireRun(name)
        try await plane.store.setPhase(.stopped, of: name, now: plane.now())
        _ = try await plane.store.appendEvent(run: name, kind: "Stopped", message: "run stopped by \(principal.name)", now: plane.now())
        return try JSONBody.response(RunChange(run: name, phase: .stopped))
    }

    /// A stopped or failed run trains again: its agents launch its replicas, which resume from their checkpoints.
    func resume(_ context: ServerContext) async throws -> Response {
        let principal = try context.requireOperator()
        let name = try runName(context)
        let run = try await plane.requireRun(name)
        if run.phase != .running {
            try await plane.store.setPhase(.running, of: name, now: plane.now())
            _ = try await plane.store.appendEvent(run: name, kind: "Resumed", message: "run resumed by \(principal.name)", now: plane.now())
        }
        return try JSONBody.response(RunChange(run: name, phase: .running))
    }

    func delete(_ context: ServerContext) async throws -> Response {
        _ = try context.requireOperator()
        let name = try runName(context)
        guard try await plane.store.deleteRun(name) else { throw APIError.notFound("no run named \(name)") }
        await plane.members.forget(run: name)
        await board.forget(run: name)
        await plane.torchftRounds.forget(run: name)
        await plane.rollouts.set(nil, run: name)
        await plane.pace.forget(run: name)
        await plane.series.forget(run: name)
        await plane.rejections.forget(run: name)
        await reconciliation.forget(run: name)
        return try JSONBody.response(RunChange(run: name, deleted: true))
    }

    func revisions(_ context: ServerContext) async throws -> Response {
        let name = try runName(context)
        _ = try context.requireReader(run: name)
        let run = try await plane.requireRun(name)
        let list = try await plane.store.revisions(of: name).map {
            RevisionSummary(number: $0.number, contentHash: $0.contentHash, appliedBy: $0.appliedBy, appliedAt: $0.appliedAt,
                            active: $0.number == run.activeRevision)
        }
        return try JSONBody.response(list)
    }

    func revision(_ context: ServerContext) async throws -> Response {
        let name = try runName(context)
        let principal = try context.requireReader(run: name)
        guard let number = Int(try context.parameters.require("number")) else { throw APIError.badRequest("revision must be a number") }
        guard var revision = try await plane.store.revision(of: name, number: number) else {
            throw APIError.notFound("run \(name) has no revision \(number)")
        }
        // An agent reads its own site's view: other sites' environment, commands and launcher settings are not its.
        if principal.role == .agent, let site = principal.site, let plan = try await plane.plan(of: name, revision: number) {
            revision.plan = String(decoding: PlanWriter.json(plan.scoped(to: site)), as: UTF8.self)
            revision.specText = ""
            revision.canonical = ""
            revision.site = site
        }
        return try JSONBody.response(revision)
    }

    func events(_ request: Request, _ context: ServerContext) async throws -> Response {
        let name = try runName(context)
        _ = try context.requireViewer()
        _ = try await plane.requireRun(name)
        let query = request.uri.queryParameters
        // A browser's EventSource that reconnects says where it was in `Last-Event-ID`.
        let after = try (query.get("after") ?? request.headers[Self.lastEventID]).map { value -> Int64 in
            guard let number = Int64(value), number >= 0 else { throw APIError.badRequest("after must be a non-negative event id") }
            return number
        } ?? 0
        let limit = try query.get("limit").map { value -> Int in
            guard let number = Int(value), (1...1000).contains(number) else { throw APIError.badRequest("limit must be 1 to 1000") }
            return number
        } ?? 200
        if query.get("follow") == "true" || request.headers[.accept] == "text/event-stream" {
            return follow(run: name, after: after)
        }
        return try JSONBody.response(try await plane.store.events(of: name, after: after, limit: limit))
    }

    func sitePlan(_ context: ServerContext) async throws -> Response {
        let name = try runName(context)
        let site: String = try context.parameters.require("site")
        _ = try context.requireSite(run: name, site: site)
        let run = try await plane.requireRun(name)
        guard let plan = try await plane.activePlan(of: run), let sitePlan = plan.site(named: site) else {
            throw APIError.notFound("run \(name) has no site \(site)")
        }
        return try JSONBody.response(sitePlan)
    }

    func createToken(_ request: Request, _ context: ServerContext) async throws -> Response {
        _ = try context.requireAdmin()
        let body = try await JSONBody.decode(TokenRequest.self, from: request, context: context)
        if body.role == .agent, body.run == nil || body.site == nil {
            throw APIError.badRequest("an agent token needs both run and site")
        }
        if body.role != .agent, body.run != nil || body.site != nil {
            throw APIError.badRequest("only agent tokens are scoped to a run and a site")
        }
        if let run = body.run, let site = body.site {
            // A scope names what exists: a token for a run or site that does not would act for whatever takes the name.
            guard let record = try await plane.store.run(run) else { throw APIError.notFound("no run named \(run)") }
            guard try await plane.activePlan(of: record)?.site(named: site) != nil else {
                throw APIError.notFound("the active plan of run \(run) has no site \(site)")
            }
        }
        if let ttl = body.ttlSeconds, !(1...TokenRequest.maxTTLSeconds).contains(ttl) {
            throw APIError.badRequest("ttlSeconds must be 1 to \(TokenRequest.maxTTLSeconds)")
        }
        guard (body.description ?? "").utf8.count <= 1024 else { throw APIError.badRequest("description must be at most 1024 bytes") }
        let now = plane.now()
        let issued = AccessToken.issue(role: body.role, run: body.run, site: body.site, description: body.description ?? "", now: now,
                                       expiresAt: body.ttlSeconds.map { now.addingTimeInterval(TimeInterval($0)) })
        try await plane.store.saveToken(issued.record)
        return try JSONBody.response(TokenResponse(id: issued.record.id, role: body.role, run: body.run, site: body.site, token: issued.text,
                                                   expiresAt: issued.record.expiresAt),
                                     status: .created)
    }

    func listTokens(_ context: ServerContext) async throws -> Response {
        _ = try context.requireAdmin()
        return try JSONBody.response(try await plane.store.tokens().map(\.info))
    }

    /// Deletes a token: its next request is refused (the store drops it from its cache as it deletes it).
    func revokeToken(_ context: ServerContext) async throws -> Response {
        _ = try context.requireAdmin()
        let id: String = try context.parameters.require("id")
        guard try await plane.store.deleteToken(id: id) else { throw APIError.notFound("no token \(id)") }
        return try JSONBody.response(TokenRevoked(id: id, revoked: true))
    }
}

extension API {
    /// Server-sent events: every event after `after`, then new ones as they are written, until the client leaves
    /// or the run is deleted. Each carries its id, so a client resumes with `after` (or `Last-Event-ID`).
    func follow(run: String, after: Int64) -> Response {
        let store = plane.store
        let body = ResponseBody { writer in
            var last = after
            // A stream ends when the server shuts down: an open one would hold the graceful shutdown forever.
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                let events = try await store.events(of: run, after: last, limit: 500)
                for event in events {
                    try await writer.write(Self.event(event.kind, try JSONBody.encoder.encode(event), id: event.id))
                    last = event.id
                }
                if events.isEmpty {
                    guard try await store.run(run) != nil else { break }
                    // A comment line keeps proxies from closing an idle stream.
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}
