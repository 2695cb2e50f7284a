import Foundation
import Hummingbird
import IntermeshAPI
import IntermeshControl
import IntermeshPlan
import IntermeshStore

extension API {
    /// Register and heartbeat a site's members in one request; the answer carries the active revision and directives.
    func heartbeats(_ request: Request, _ context: ServerContext) async throws -> Response {
        // The decoded plan is cached per revision: a heartbeat reads no revision from disk.
        let (run, site, plan) = try await memberContext(context)
        let name = run.name
        let body = try await JSONBody.decode(HeartbeatBody.self, from: request, context: context)
        guard body.members.count <= 100_000 else { throw APIError.badRequest("at most 100000 members per heartbeat") }
        // A slot has one member, two while a new incarnation replaces a leaving one: more is not a heartbeat.
        var perSlot: [String: Int] = [:]
        for beat in body.members {
            perSlot[beat.slot, default: 0] += 1
            guard perSlot[beat.slot]! <= 2 else { throw APIError.badRequest("more than two members for slot \(beat.slot) in one heartbeat") }
        }
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
            if let problem = beat.rangeError { throw APIError.badRequest(problem) }
        }
        // Every slot must be in the active plan, or still held by a live member (draining after a revision removed
        // it); a member id of another site is not this site's to heartbeat. Checked for the whole request before any
        // of it is recorded.
        let sitePlan = plan.site(named: site)
        let unknown = body.members.lazy.map(\.slot).filter { sitePlan?.replica(slot: $0) == nil }
        for slot in Set(unknown) where !(await plane.members.holds(slot: slot, in: name)) {
            throw APIError.notFound("the active plan has no slot \(slot)")
        }
        if let foreign = await plane.members.foreign(Set(body.members.map(\.id)), in: name, site: site) {
            throw APIError.forbidden("member \(foreign.id) belongs to site \(foreign.site), not \(site)")
        }
        // A member lost and replaced is not recorded again: its answer tells it to stop.
        let replaced = await plane.members.lostAmong(body.members.map(\.id), in: name)
        for beat in body.members where !replaced.contains(beat.id) {
            var record = MemberRecord(id: beat.id, site: site, slot: beat.slot, incarnation: beat.incarnation ?? 1, state: beat.state,
                                      outerStep: beat.outerStep ?? 0, revision: beat.revision, lastHeartbeat: now, leaving: beat.leaving ?? false)
            record.loss = beat.loss.flatMap { $0.isFinite ? $0 : nil }
            record.tokensPerSecond = beat.tokensPerSecond.flatMap { $0.isFinite ? $0 : nil }
            record.address = beat.address
            record.acknowledged = beat.acknowledged
            record.activeRevision = beat.activeRevision
            record.evalLoss = beat.evalLoss.flatMap { $0.isFinite ? $0 : .infinity }
            record.uplinkMbps = beat.uplinkMbps
            record.uplinkTo = beat.uplinkTo
            records.append(record)
        }
        try await plane.members.beat(run: name, records, now: now)
        await plane.series.record(run: name, beats: body.members.filter { !replaced.contains($0.id) })
        ServerMetrics.heartbeatMembers(run: name).increment(by: records.count)
        var refused: [(kind: String, message: String)] = []
        for beat in body.members {
            guard let total = beat.rejectedConnections else { continue }
            let added = await plane.rejections.record(run: name, member: beat.id, total: total)
            guard added > 0 else { continue }
            ServerMetrics.dataPlaneRejected(run: name).increment(by: added)
            refused.append(("DataPlaneRejected", "the ring and recovery ports of \(beat.slot) (member \(beat.id)) refused \(added) connection\(added == 1 ? "" : "s") without valid credentials (\(total) since it started)"))
        }
        if !refused.isEmpty { try await plane.store.appendEvents(run: name, refused, now: now) }
        let (directives, drain) = await reconciliation.orders(run: name, site: site, members: records.map(\.id))
        return try JSONBody.response(HeartbeatResponse(activeRevision: run.activeRevision, contentHash: plan.contentHash, directives: directives,
                                                       drain: drain, schedule: try await plane.schedule(of: run, site: site),
                                                       replaced: replaced.isEmpty ? nil : replaced.sorted()))
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
        let principal = try context.requireReader(run: name)
        _ = try await plane.requireRun(name)
        // An agent sees its own site's members only: another site's member ids are not its business.
        let members = await plane.members.members(of: name).filter { principal.role != .agent || $0.site == principal.site }
        return try JSONBody.response(members.sorted { ($0.slot, $0.id) < ($1.slot, $1.id) })
    }

    func diff(_ context: ServerContext) async throws -> Response {
        let name = try runName(context)
        _ = try context.requireViewer()
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
        guard (0...MemberBeat.maxOuterStep).contains(body.step) else { throw APIError.badRequest("step must be 0 to \(MemberBeat.maxOuterStep)") }
        try await checkSlot(body.slot, site: site, plan: plan, run: name)
        if let member = body.member, await !plane.members.lostAmong([member], in: name).isEmpty {
            throw APIError.replaced(member, slot: body.slot)
        }
        // The schedule of a step is fixed before the step begins: one read serves the revision check and the weights.
        let schedule = try await plane.rolloutState(of: name)?.schedule
        let scheduled = schedule?.revision(forStep: body.step, site: site)
        let policy = plan.run.spec.faultPolicy
        let registry = plane.members
        let now = plane.now
        let timeout = await plane.heartbeatTimeout(of: run, plan: plan)
        let answer = await board.join(
            run: name, step: body.step, slot: body.slot, failed: body.failed,
            revision: body.revision.flatMap { trained in scheduled.map { (trained, $0) } }, plan: plan.contentHash,
            planned: { plan.sites.flatMap(\.replicas).map(\.slot) },
            rules: QuorumRules(minReplicas: policy.minReplicas, joinTimeout: policy.joinTimeout.seconds),
            tick: policy.quorumTick.seconds, deadline: plane.now().addingTimeInterval(10)) {
                await registry.liveness(of: name, timeout: timeout, now: now())
            }
        switch answer {
        case let .formed(decision):
            await plane.series.quorum(run: name, step: decision.step, size: decision.slots.count, at: plane.now())
            // Weights follow from the schedule of this step: every member gets the same.
            let weights = decision.slots.map { schedule?.weight(forStep: body.step, site: String($0.split(separator: "/")[0])) ?? 1 }
            return try JSONBody.response(QuorumResponse(status: .formed, weights: weights.allSatisfy { $0 == 1 } ? nil : weights,
                                                        quorum: decision, ring: await addresses(decision.slots, run: name, plan: plan)))
        case .missed:
            return try JSONBody.response(QuorumResponse(status: .missed))
        case let .stale(revision):
            return try JSONBody.response(QuorumResponse(status: .stale, revision: revision))
        case .waiting:
            return try JSONBody.response(QuorumResponse(status: .waiting))
        }
    }

    /// A recovered member announces the step it joins, so the quorum of that step waits for it.
    func intent(_ request: Request, _ context: ServerContext) async throws -> Response {
        let (run, site, plan) = try await memberContext(context)
        let name = run.name
        let body = try await JSONBody.decode(QuorumRequest.self, from: request, context: context)
        guard (0...MemberBeat.maxOuterStep).contains(body.step) else { throw APIError.badRequest("step must be 0 to \(MemberBeat.maxOuterStep)") }
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
