import Foundation
import Hummingbird
import IntermeshAPI
import IntermeshControl
import IntermeshPlan
import IntermeshStore

extension API {
    /// An agent's tick: it reports launches and exits and gets the directives of its site.
    func agentReport(_ request: Request, _ context: ServerContext) async throws -> Response {
        let name = try runName(context)
        let site: String = try context.parameters.require("site")
        _ = try context.requireSite(run: name, site: site)
        let run = try await plane.requireRun(name)
        let body = try await JSONBody.decode(AgentReport.self, from: request, context: context)
        guard body.launched.count + body.exited.count <= 10_000 else { throw APIError.badRequest("at most 10000 launches and exits per report") }
        for slot in body.launched.map(\.slot) + body.exited.map(\.slot) where !slot.hasPrefix(site + "/") {
            throw APIError.forbidden("slot \(slot) is not in site \(site)")
        }
        let now = plane.now()
        var events: [(kind: String, message: String)] = []
        if !body.launched.isEmpty {
            var slots = try await plane.store.slots(of: name, named: body.launched.map(\.slot))
            for launch in body.launched {
                slots[launch.slot, default: SlotRecord()].recordLaunch(of: launch.member, at: now)
                events.append(("Launched", "launched \(launch.slot) as member \(launch.member) (incarnation \(launch.incarnation))"))
            }
            try await plane.store.saveSlots(slots, run: name)
        }
        for exit in body.exited {
            let how = ExitReport.describe(code: exit.code, signal: exit.signal)
            let tail = exit.lastLines.suffix(5).map { String($0.prefix(300)) }.joined(separator: " | ")
            events.append(("Exited", "replica \(exit.slot) (member \(exit.member)) \(how)" + (tail.isEmpty ? "" : "; last lines: \(tail)")))
        }
        // A process that is gone is out of the membership now, not after a heartbeat timeout.
        let gone = Set(body.exited.map(\.member))
        // Only this site's members: an agent cannot evict another site's by naming them.
        let known = gone.isEmpty ? [] : await plane.members.known(gone, in: name, site: site)
        if !known.isEmpty { try await plane.members.remove(run: name, ids: known) }
        if !events.isEmpty { try await plane.store.appendEvents(run: name, events, now: now) }
        if !body.launched.isEmpty || !body.exited.isEmpty { await reconciliation.invalidate(run: name) }
        let plan = try await plane.activePlan(of: run)
        let (directives, issuedAt) = await reconciliation.directives(run: name, site: site)
        let paused = try await plane.rolloutState(of: name)?.paused ?? false
        var allowed = 0
        if let pending = body.pendingRestarts, let revision = body.revision {
            let granted = await reconciliation.restarts(run: name, site: site, revision: revision, pending: pending)
            allowed = paused ? 0 : granted
        }
        return try JSONBody.response(AgentResponse(
            phase: run.phase, activeRevision: run.activeRevision, contentHash: plan?.contentHash ?? "",
            siteInPlan: plan?.site(named: site) != nil, issuedAt: issuedAt, directives: directives,
            restartsAllowed: allowed, lighthousePort: plan?.membership == .torchft ? await plane.lighthousePort.port : nil))
    }

    /// The run's data-plane key, for its replicas' ring and recovery ports: only an agent token of one of its sites
    /// (or admin) gets it, and it is never logged.
    func dataKey(_ context: ServerContext) async throws -> Response {
        let name = try runName(context)
        let site: String = try context.parameters.require("site")
        _ = try context.requireSite(run: name, site: site)
        guard let key = try await plane.store.dataKey(of: name) else { throw APIError.notFound("no run named \(name)") }
        var response = try JSONBody.response(DataKeyResponse(key: key))
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
