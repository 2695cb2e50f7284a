import Foundation
import Hummingbird
import IntermeshAPI
import IntermeshControl
import IntermeshPlan
import IntermeshStore

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
        router.post("/v1/runs/:run/sites/:site/heartbeats") { request, context in try await heartbeats(request, context) }
        router.get("/v1/runs/:run/diff") { _, context in try await diff(context) }
        router.get("/v1/runs/:run/members") { _, context in try await members(context) }
        router.get("/v1/runs/:run/sites/:site/schedule") { request, context in try await schedule(request, context) }
        router.post("/v1/runs/:run/sites/:site/quorum") { request, context in try await quorum(request, context) }
        router.post("/v1/runs/:run/sites/:site/intent") { request, context in try await intent(request, context) }
        router.post("/v1/runs/:run/sites/:site/donor") { request, context in try await donor(request, context) }
        router.post("/v1/runs/:run/sites/:site/agent") { request, context in try await agentReport(request, context) }
        registerRollouts(on: router)
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

    func describe(_ context: ServerContext) async throws -> Response {
        let name = try runName(context)
        _ = try context.requireReader(run: name)
        let run = try await plane.requireRun(name)
        guard let revision = try await plane.store.revision(of: name, number: run.activeRevision),
              let plan = try await plane.activePlan(of: run) else { throw APIError.notFound("run \(name) has no active revision") }
        let members = await plane.members.members(of: name)
        let quarantined = Set(try await plane.store.slots(of: name).filter(\.value.quarantined).keys)
        let sites = plan.sites.map { site in
            SiteStatus(name: site.name, launcher: site.launcher.rawValue, desired: site.replicas.count,
                       live: members.filter { $0.site == site.name && !$0.leaving }.count, slots: site.replicas.map(\.slot),
                       quarantined: site.replicas.map(\.slot).filter(quarantined.contains))
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
        await plane.rollouts.set(nil, run: name)
        await plane.pace.forget(run: name)
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
        _ = try context.requireReader(run: name)
        guard let number = Int(try context.parameters.require("number")) else { throw APIError.badRequest("revision must be a number") }
        guard let revision = try await plane.store.revision(of: name, number: number) else {
            throw APIError.notFound("run \(name) has no revision \(number)")
        }
        return try JSONBody.response(revision)
    }

    func events(_ request: Request, _ context: ServerContext) async throws -> Response {
        let name = try runName(context)
        _ = try context.requireReader(run: name)
        _ = try await plane.requireRun(name)
        let query = request.uri.queryParameters
        let after = try query.get("after").map { value -> Int64 in
            guard let number = Int64(value), number >= 0 else { throw APIError.badRequest("after must be a non-negative event id") }
            return number
        } ?? 0
        let limit = min(1000, Int(query.get("limit") ?? "") ?? 200)
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
        let issued = AccessToken.issue(role: body.role, run: body.run, site: body.site, description: body.description ?? "", now: plane.now())
        try await plane.store.saveToken(issued.record)
        return try JSONBody.response(TokenResponse(id: issued.record.id, role: body.role, run: body.run, site: body.site, token: issued.text),
                                     status: .created)
    }
}

extension API {
    /// Register and heartbeat a site's members in one request; the answer carries the active revision and directives.
    func heartbeats(_ request: Request, _ context: ServerContext) async throws -> Response {
        let name = try runName(context)
        let site: String = try context.parameters.require("site")
        _ = try context.requireSite(run: name, site: site)
        let run = try await plane.requireRun(name)
        let body = try await JSONBody.decode(HeartbeatBody.self, from: request, context: context)
        guard body.members.count <= 100_000 else { throw APIError.badRequest("at most 100000 members per heartbeat") }
        // The decoded plan is cached per revision: a heartbeat reads no revision from disk.
        guard let plan = try await plane.activePlan(of: run) else { throw APIError.notFound("run \(name) has no active revision") }
        let now = plane.now()
        var records: [MemberRecord] = []
        records.reserveCapacity(body.members.count)
        for beat in body.members {
            guard beat.slot.hasPrefix(site + "/") else {
                throw APIError.forbidden("slot \(beat.slot) is not in site \(site)")
            }
            guard MemberBeat.isValid(id: beat.id) else {
                throw APIError.badRequest("member id must be 1 to 64 ASCII letters, digits or '-'")
            }
            var record = MemberRecord(id: beat.id, site: site, slot: beat.slot, incarnation: beat.incarnation ?? 1, state: beat.state,
                                      outerStep: beat.outerStep ?? 0, revision: beat.revision, lastHeartbeat: now, leaving: beat.leaving ?? false)
            record.loss = beat.loss.flatMap { $0.isFinite ? $0 : nil }
            record.tokensPerSecond = beat.tokensPerSecond.flatMap { $0.isFinite ? $0 : nil }
            record.address = beat.address
            record.acknowledged = beat.acknowledged
            record.activeRevision = beat.activeRevision
            record.evalLoss = beat.evalLoss.flatMap { $0.isFinite ? $0 : .infinity }
            records.append(record)
        }
        try await plane.members.beat(run: name, records, now: now)
        ServerMetrics.heartbeatMembers(run: name).increment(by: records.count)
        let (directives, drain) = await reconciliation.orders(run: name, site: site, members: records.map(\.id))
        return try JSONBody.response(HeartbeatResponse(activeRevision: run.activeRevision, contentHash: plan.contentHash, directives: directives,
                                                       drain: drain, schedule: try await plane.schedule(of: run, site: site)))
    }

    /// Long-poll (up to `wait` seconds, at most 60) for the run's revision schedule to change from version `after`.
    func schedule(_ request: Request, _ context: ServerContext) async throws -> Response {
        let name = try runName(context)
        let site: String = try context.parameters.require("site")
        _ = try context.requireSite(run: name, site: site)
        _ = try await plane.requireRun(name)
        let query = request.uri.queryParameters
        let after = try query.get("after").map { value -> Int in
            guard let number = Int(value) else { throw APIError.badRequest("after must be a schedule version (an integer)") }
            return number
        } ?? -1
        let wait = try query.get("wait").map { value -> Int in
            guard let seconds = Int(value), (0...60).contains(seconds) else { throw APIError.badRequest("wait must be 0 to 60 seconds") }
            return seconds
        } ?? 30
        let version = await plane.scheduleChanges.wait(run: name, after: after, timeout: .seconds(wait))
        let run = try await plane.requireRun(name)
        return try JSONBody.response(ScheduleResponse(version: version, activeRevision: run.activeRevision,
                                                      schedule: try await plane.schedule(of: run, site: site)))
    }

    func members(_ context: ServerContext) async throws -> Response {
        let name = try runName(context)
        _ = try context.requireReader(run: name)
        _ = try await plane.requireRun(name)
        return try JSONBody.response(await plane.members.members(of: name).sorted { ($0.slot, $0.id) < ($1.slot, $1.id) })
    }

    func diff(_ context: ServerContext) async throws -> Response {
        let name = try runName(context)
        _ = try context.requireReader(run: name)
        let run = try await plane.requireRun(name)
        guard let plan = try await plane.activePlan(of: run) else { throw APIError.notFound("run \(name) has no active revision") }
        return try JSONBody.response(MeshDiff.compute(plan: plan, members: await plane.members.members(of: name), now: plane.now()))
    }
}

extension API {
    /// Checks a member's slot against the caller's site: in the active plan, or still live (draining after a revision removed it).
    func checkSlot(_ slot: String, site: String, plan: Plan, run: String) async throws {
        guard slot.hasPrefix(site + "/") else { throw APIError.forbidden("slot \(slot) is not in site \(site)") }
        if plan.replica(slot: slot) != nil { return }
        guard await plane.members.holds(slot: slot, in: run) else {
            throw APIError.notFound("the active plan has no slot \(slot)")
        }
    }

    func memberContext(_ context: ServerContext) async throws -> (run: RunRecord, site: String, plan: Plan) {
        let name = try runName(context)
        let site: String = try context.parameters.require("site")
        _ = try context.requireSite(run: name, site: site)
        let run = try await plane.requireRun(name)
        guard let plan = try await plane.activePlan(of: run) else { throw APIError.notFound("run \(name) has no active revision") }
        return (run, site, plan)
    }

    /// Where each slot's leader listens: as the member advertised it, else as the plan places it.
    func addresses(_ slots: [String], run: String, plan: Plan) async -> [RingMember] {
        let members = await plane.members.members(of: run)
        var advertised: [String: MemberAddress] = [:]
        for member in members where !member.leaving { if let address = member.address { advertised[member.slot] = address } }
        return slots.map { slot in
            if let address = advertised[slot] {
                return RingMember(slot: slot, host: address.host, ringPort: address.ringPort, controlPort: address.controlPort)
            }
            let replica = plan.replica(slot: slot)?.1
            return RingMember(slot: slot, host: replica?.host ?? "", ringPort: replica?.ports.ring ?? 0, controlPort: replica?.ports.recovery ?? 0)
        }
    }

    /// Long-poll (up to 10 s) for outer step k's quorum.
    func quorum(_ request: Request, _ context: ServerContext) async throws -> Response {
        let (run, site, plan) = try await memberContext(context)
        let name = run.name
        let body = try await JSONBody.decode(QuorumRequest.self, from: request, context: context)
        guard body.step >= 0 else { throw APIError.badRequest("step must not be negative") }
        try await checkSlot(body.slot, site: site, plan: plan, run: name)
        // No outer step mixes revisions: a member that trained this step with another revision is not admitted;
        // it trains the step again with the step's revision (the others wait for it as for a straggler).
        // The schedule of a step is fixed before the step begins: one read serves the revision check and the weights.
        let schedule = try await plane.rolloutState(of: name)?.schedule
        if let revision = body.revision, let required = schedule?.revision(forStep: body.step, site: site),
           revision != required {
            return try JSONBody.response(QuorumResponse(status: .stale, revision: required))
        }
        let policy = plan.run.spec.faultPolicy
        let registry = plane.members
        let now = plane.now
        let timeout = await plane.heartbeatTimeout(of: run, plan: plan)
        let answer = await board.join(
            run: name, step: body.step, slot: body.slot, failed: body.failed, plan: plan.contentHash,
            planned: { plan.sites.flatMap(\.replicas).map(\.slot) },
            rules: QuorumRules(minReplicas: policy.minReplicas, joinTimeout: policy.joinTimeout.seconds),
            tick: policy.quorumTick.seconds, deadline: plane.now().addingTimeInterval(10)) {
                await registry.liveness(of: name, timeout: timeout, now: now())
            }
        switch answer {
        case let .formed(decision):
            // Weights follow from the schedule of this step: every member gets the same.
            let weights = decision.slots.map { schedule?.weight(forStep: body.step, site: String($0.split(separator: "/")[0])) ?? 1 }
            return try JSONBody.response(QuorumResponse(status: .formed, weights: weights.allSatisfy { $0 == 1 } ? nil : weights,
                                                        quorum: decision, ring: await addresses(decision.slots, run: name, plan: plan)))
        case .missed:
            return try JSONBody.response(QuorumResponse(status: .missed))
        case .waiting:
            return try JSONBody.response(QuorumResponse(status: .waiting))
        }
    }

    /// A recovered member announces the step it joins, so the quorum of that step waits for it.
    func intent(_ request: Request, _ context: ServerContext) async throws -> Response {
        let (run, site, plan) = try await memberContext(context)
        let name = run.name
        let body = try await JSONBody.decode(QuorumRequest.self, from: request, context: context)
        try await checkSlot(body.slot, site: site, plan: plan, run: name)
        await board.intend(run: name, step: body.step, slot: body.slot)
        return try JSONBody.response(IntentResponse(step: body.step))
    }

    /// An up-to-date live member to recover from, spread so no donor serves two joiners while another is free.
    func donor(_ request: Request, _ context: ServerContext) async throws -> Response {
        let (run, site, plan) = try await memberContext(context)
        let name = run.name
        let body = try await JSONBody.decode(QuorumRequest.self, from: request, context: context)
        try await checkSlot(body.slot, site: site, plan: plan, run: name)
        let timeout = await plane.heartbeatTimeout(of: run, plan: plan)
        let now = plane.now()
        let live = await plane.members.members(of: name).filter { $0.slot != body.slot && $0.isLive(at: now, timeout: timeout) }
        guard let newest = live.map(\.outerStep).max() else { throw APIError.notFound("no live member to recover from") }
        let donors = live.filter { $0.outerStep == newest }.map(\.slot)
        let chosen = await reconciliation.assignDonor(run: name, joiner: body.slot, donors: donors)
        let address = await addresses([chosen], run: name, plan: plan)[0]
        return try JSONBody.response(DonorResponse(slot: chosen, host: address.host, controlPort: address.controlPort,
                                                   ringPort: address.ringPort, outerStep: newest))
    }
}

extension API {
    /// Server-sent events: every event after `after`, then new ones as they are written, until the client leaves
    /// or the run is deleted. Each carries its id, so a client resumes with `after`.
    func follow(run: String, after: Int64) -> Response {
        let store = plane.store
        let body = ResponseBody { writer in
            var last = after
            while !Task.isCancelled {
                let events = try await store.events(of: run, after: last, limit: 500)
                for event in events {
                    let data = try JSONBody.encoder.encode(event)
                    var chunk = ByteBuffer(string: "id: \(event.id)\nevent: \(event.kind)\ndata: ")
                    chunk.writeBytes(data)
                    chunk.writeString("\n\n")
                    try await writer.write(chunk)
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
