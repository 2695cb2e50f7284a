import Foundation
import HTTPTypes
import Hummingbird
import IntermeshAPI
import IntermeshControl
import IntermeshPlan
import IntermeshStore
import ServiceLifecycle

/// What the console reads: who the caller is, a run's view (streamed as server-sent events) and its series.
extension API {
    /// At most this many views are streamed at once: each takes a look at the run every second.
    static let viewStreams = StreamLimit(maximum: 64)

    func registerConsoleReads(on router: Router<ServerContext>) {
        router.get("/v1/whoami") { _, context in
            guard let principal = context.principal else { throw APIError.unauthorized("missing bearer token") }
            return try JSONBody.response(WhoAmI(tokenId: principal.tokenId, role: principal.role, run: principal.run, site: principal.site))
        }
        router.get("/v1/runs/:run/view") { request, context in try await view(request, context) }
        router.get("/v1/runs/:run/series") { _, context in
            let name = try runName(context)
            _ = try context.requireViewer()
            _ = try await plane.requireRun(name)
            return try JSONBody.response(await plane.series.snapshot(run: name))
        }
    }

    func view(_ request: Request, _ context: ServerContext) async throws -> Response {
        let name = try runName(context)
        _ = try context.requireViewer()
        _ = try await plane.requireRun(name)
        guard request.uri.queryParameters.get("watch") == "true" else { return try JSONBody.response(try await runView(name)) }
        // The run's events come in the same stream, after `Last-Event-ID` when the browser reconnects: one connection
        // per page (a browser opens at most 6 to a server over HTTP/1.1).
        let after = request.headers[Self.lastEventID].flatMap { Int64($0) }.map { max(0, $0) } ?? 0
        guard Self.viewStreams.enter() else {
            throw APIError(.tooManyRequests, "too_many_streams", "at most \(Self.viewStreams.maximum) views are streamed at once; try again later")
        }
        return watch(run: name, eventsAfter: after)
    }

    /// The run's view as the console draws it; nil once the run is gone.
    func runView(_ name: String) async throws -> RunView {
        let run = try await plane.requireRun(name)
        guard let plan = try await plane.activePlan(of: run) else { throw APIError.notFound("run \(name) has no active revision") }
        let now = plane.now()
        let timeout = await plane.heartbeatTimeout(of: run, plan: plan)
        let members = await plane.members.members(of: name)
        var newest: [String: MemberRecord] = [:]
        for member in members where newest[member.slot].map({ ($0.incarnation, $0.lastHeartbeat) < (member.incarnation, member.lastHeartbeat) }) ?? true {
            newest[member.slot] = member
        }
        let records = try await plane.store.slots(of: name)
        let sites = plan.sites.map { site in
            SiteView(name: site.name, region: site.region, launcher: site.launcher.rawValue, bandwidth: plan.run.spec.sites.first { $0.name == site.name }?.bandwidth.description ?? "",
                     syncSeconds: site.estimate.syncSeconds, slots: site.replicas.map { replica in
                         let member = newest[replica.slot]
                         return SlotView(slot: replica.slot, health: Self.health(member, record: records[replica.slot], now: now, timeout: timeout,
                                                                                     grace: plan.run.spec.faultPolicy.graceSeconds),
                                         member: member, lastMember: records[replica.slot]?.lastMember)
                     }, link: plan.link(of: site.name, live: members.filter { $0.isLive(at: now, timeout: timeout) }))
        }
        let live = sites.flatMap(\.slots).filter { $0.health == .live }.count
        let rollout = try await rolloutStatus(run: run, plan: plan)
        var gate: CanaryGate?
        if let current = rollout.rollout, current.strategy == .canary {
            let policy = await plane.rolloutPolicy(plan.run, name: name)
            let fresh = members.filter { $0.isLive(at: now, timeout: timeout) }
            let canaries = fresh.filter { current.canarySites.contains($0.site) && $0.activeRevision == current.revision }.compactMap(\.evalLoss)
            let others = fresh.filter { !current.canarySites.contains($0.site) }.compactMap(\.evalLoss)
            func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
            gate = CanaryGate(canarySites: current.canarySites, gateStep: current.gateStep, canaryLoss: mean(canaries), otherLoss: mean(others),
                              tolerance: policy.lossTolerance)
        }
        return RunView(name: run.name, phase: run.phase, conditions: run.conditions, activeRevision: run.activeRevision, generation: run.generation,
                       outerStep: await plane.currentStep(of: name), lastQuorumAt: await plane.series.lastQuorum(run: name), live: live,
                       desired: plan.totalReplicas, heartbeatTimeoutSeconds: timeout, sites: sites, rollout: rollout, gate: gate, now: now)
    }

    /// A slot's health from its newest member and its launch history: a slot that had a member and has none live
    /// now (it exited, or went silent past the heartbeat timeout and any disconnect grace) is lost until a new
    /// incarnation checks in.
    static func health(_ member: MemberRecord?, record: SlotRecord?, now: Date, timeout: TimeInterval, grace: TimeInterval) -> SlotView.Health {
        if record?.quarantined == true { return .quarantined }
        if let member, member.leaving { return .leaving }
        if let member, member.isLive(at: now, timeout: timeout) { return .live }
        if let member, grace > 0, now.timeIntervalSince(member.lastHeartbeat) <= timeout + grace { return .disconnected }
        return member != nil || record?.lastMember != nil ? .lost : .missing
    }

    /// Server-sent events: `view` each second the view changed (heartbeat times aside), `series` whenever a point was
    /// added, and `event` for each of the run's events (with its id), until the client leaves or the run is deleted.
    func watch(run: String, eventsAfter: Int64) -> Response {
        let body = ResponseBody { [self] writer in
            defer { Self.viewStreams.leave() }
            var lastView: RunView?
            var lastSeries = -1
            var lastEvent = eventsAfter
            var quiet = 0
            // A stream ends when the server shuts down: an open one would hold the graceful shutdown forever.
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                guard let view = try? await runView(run) else { break }
                var sent = false
                if lastView.map({ !Self.sameButTimes($0, view) }) ?? true || quiet >= 5 {
                    try await writer.write(Self.event("view", try JSONBody.encoder.encode(view)))
                    lastView = view
                    sent = true
                }
                let version = await plane.series.version(run: run)
                if version != lastSeries {
                    try await writer.write(Self.event("series", try JSONBody.encoder.encode(await plane.series.snapshot(run: run))))
                    lastSeries = version
                    sent = true
                }
                for event in try await plane.store.events(of: run, after: lastEvent, limit: 500) {
                    try await writer.write(Self.event("event", try JSONBody.encoder.encode(event), id: event.id))
                    lastEvent = event.id
                    sent = true
                }
                quiet = sent ? 0 : quiet + 1
                try await Task.sleep(for: .seconds(1))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    /// Two views alike but for the clock and heartbeat times: the page ages heartbeats itself between views, and a
    /// view goes out at least every 5 s anyway.
    static func sameButTimes(_ a: RunView, _ b: RunView) -> Bool {
        var a = a, b = b
        a.now = b.now
        for site in a.sites.indices { for slot in a.sites[site].slots.indices { a.sites[site].slots[slot].lastHeartbeat = nil } }
        for site in b.sites.indices { for slot in b.sites[site].slots.indices { b.sites[site].slots[slot].lastHeartbeat = nil } }
        return a == b
    }

    /// Where a browser's EventSource that reconnects says it was.
    static let lastEventID = HTTPField.Name("Last-Event-ID")!

    /// One server-sent event: its id (when it has one), its name and its JSON data.
    static func event(_ name: String, _ data: Data, id: Int64? = nil) -> ByteBuffer {
        var chunk = ByteBuffer(string: (id.map { "id: \($0)\n" } ?? "") + "event: \(name)\ndata: ")
        chunk.writeBytes(data)
        chunk.writeString("\n\n")
        return chunk
    }
}
