import Foundation
import GRPCCore
import IntermeshAPI
import IntermeshControl
import IntermeshLighthouse
import IntermeshPlan
import IntermeshSpec
import IntermeshStore
import Metrics
import SwiftProtobuf
import Synchronization

/// torchft's Lighthouse protocol, served by the control plane, so an unmodified `torchft.Manager` uses it as its
/// Lighthouse. A replica group names itself with the id its plan hands it (`TorchftReplicaID`); its heartbeats and
/// quorum requests keep its member alive in the run's member table, and its quorums are decided by the run's own
/// quorum room and rules (the state machine the native protocol uses), one round per quorum torchft asks for. The
/// quorum id torchft sees advances only when the participants change, as with torchft's own Lighthouse.
struct LighthouseService: Torchft_LighthouseService.SimpleServiceProtocol {
    let plane: ControlPlane
    let board: QuorumBoard
    let rounds: LighthouseRounds
    let runs = LighthouseRuns()

    func heartbeat(request: Torchft_LighthouseHeartbeatRequest, context: GRPCCore.ServerContext) async throws -> Torchft_LighthouseHeartbeatResponse {
        try checkLease()
        let replica = try await admit(request.replicaID)
        try await touch(replica, step: nil, state: nil)
        return Torchft_LighthouseHeartbeatResponse()
    }

    func quorum(request: Torchft_LighthouseQuorumRequest, context: GRPCCore.ServerContext) async throws -> Torchft_LighthouseQuorumResponse {
        try checkLease()
        guard request.hasRequester else { throw RPCError(code: .invalidArgument, message: "the quorum request has no requester") }
        var requester = request.requester
        guard (0...Int64(MemberBeat.maxOuterStep)).contains(requester.step) else {
            throw RPCError(code: .invalidArgument, message: "step \(requester.step) is out of range (0 to \(MemberBeat.maxOuterStep))")
        }
        let replica = try await admit(requester.replicaID)
        requester.data = String(requester.data.prefix(64 * 1024))
        // Asking for a quorum is what makes a group a participant: until then (torch importing, the Manager starting) a
        // new incarnation is `joining`, and the others do not wait for it; from now on they do.
        try await touch(replica, step: Int(requester.step), state: .training)
        let name = replica.id.run
        await rounds.record(run: name, slot: replica.id.slot, member: requester)
        let policy = replica.plan.run.spec.faultPolicy
        let rules = QuorumRules(minReplicas: policy.minReplicas, joinTimeout: policy.joinTimeout.seconds)
        let registry = plane.members, now = plane.now, timeout = replica.timeout, plan = replica.plan
        // torchft's ManagerServer waits for its quorum up to its own timeout; the round is asked again until decided.
        while !Task.isCancelled {
            let round = await board.round(run: name)
            let answer = await board.join(
                run: name, step: round, slot: replica.id.slot, failed: nil, plan: plan.contentHash,
                planned: { plan.sites.flatMap(\.replicas).map(\.slot) }, rules: rules, tick: policy.quorumTick.seconds,
                deadline: now().addingTimeInterval(10)) {
                    await registry.liveness(of: name, timeout: timeout, now: now())
                }
            guard case let .formed(decision) = answer else { continue }
            try checkLease()
            // torchft's quorums are numbered by the board's rounds: the console charts them against those.
            await plane.series.quorum(run: name, step: decision.step, size: decision.slots.count, at: now())
            var response = Torchft_LighthouseQuorumResponse()
            response.quorum = await rounds.quorum(run: name, decision: decision, now: now())
            return response
        }
        throw RPCError(code: .cancelled, message: "the quorum request was cancelled")
    }

    /// The run, plan and slot a replica id names, when that run is managed through torchft and has the slot.
    /// On a shared store only the active server answers, as on the HTTP API (`LeaseMiddleware`).
    func checkLease() throws {
        guard plane.lease?.isHeld ?? true else {
            throw RPCError(code: .unavailable, message: "this server's lease on the store ended: it is not the active server any more")
        }
    }

    func admit(_ text: String) async throws -> LighthouseRuns.Admitted {
        let id: TorchftReplicaID
        do { id = try TorchftReplicaID.parse(text) } catch { throw RPCError(code: .invalidArgument, message: error.description) }
        guard let entry = try await runs.entry(run: id.run, plane: plane) else {
            throw RPCError(code: .notFound, message: "no run \(id.run) with an active revision")
        }
        guard entry.plan.membership == .torchft else {
            throw RPCError(code: .failedPrecondition,
                           message: "run \(id.run) is not managed through torchft (engine.membership: \(entry.plan.membership.rawValue))")
        }
        guard let globalIndex = entry.groups[id.slot] else {
            throw RPCError(code: .notFound, message: "the active plan of run \(id.run) has no slot \(id.slot)")
        }
        guard globalIndex == id.globalIndex else {
            throw RPCError(code: .invalidArgument, message: "slot \(id.slot) is replica group \(globalIndex) of run \(id.run), not \(id.globalIndex)")
        }
        return LighthouseRuns.Admitted(id: id, run: entry.run, plan: entry.plan, timeout: entry.timeout, beats: entry.beats)
    }

    /// Keeps the replica group's member alive, registering it on first contact (as a native member's first heartbeat does),
    /// unless it was lost and replaced.
    func touch(_ replica: LighthouseRuns.Admitted, step: Int?, state: MemberState?) async throws {
        let name = replica.id.run, member = replica.id.member
        let now = plane.now()
        let update: @Sendable (inout MemberRecord) -> Void = { record in
            if let step { record.outerStep = step }
            if let state { record.state = state }
        }
        replica.beats.increment()
        // One actor call for the common case, a member already known.
        if await plane.members.refresh(run: name, id: member, now: now, update: update) { return }
        // Lost and its slot relaunched: it is not registered again, and gets no quorum (never two groups for one slot).
        guard await plane.members.lostAmong([member], in: name).isEmpty else {
            throw RPCError(code: .failedPrecondition, message: "replica group \(member) of \(replica.id.slot) was replaced: it was lost "
                           + "(no heartbeat within the timeout and any disconnectGrace) and its slot relaunched; it must stop")
        }
        var incarnation = 1
        if let slot = try await plane.store.slots(of: name, named: [replica.id.slot])[replica.id.slot], slot.lastMember == member {
            incarnation = max(1, slot.launches.count)
        }
        try await plane.members.touch(run: name, id: member, now: now, update: update, make: {
            var record = MemberRecord(id: member, site: replica.id.site, slot: replica.id.slot, incarnation: incarnation, state: .joining,
                                      outerStep: step ?? 0, revision: replica.plan.contentHash, lastHeartbeat: now, leaving: false)
            record.activeRevision = replica.run.activeRevision
            record.acknowledged = replica.run.activeRevision
            return record
        })
    }
}

/// Each torchft run's last quorum requests and answers: participants are the requests of the round's members, sorted
/// by replica id as torchft's Lighthouse sorts them; the quorum id advances only when the replica ids change.
actor LighthouseRounds {
    struct RunState {
        var requests: [String: Torchft_QuorumMember] = [:]
        var answers: [UInt64: Torchft_Quorum] = [:]
        var last: (id: Int64, replicas: [String])?
    }

    var runs: [String: RunState] = [:]
    /// Quorum ids start above any an earlier process issued (milliseconds since 1970 at start), so a restarted control
    /// plane never hands out an id torchft already saw with other participants.
    let firstId: Int64

    init(now: Date = Date()) {
        firstId = Int64(now.timeIntervalSince1970 * 1000)
    }

    func record(run: String, slot: String, member: Torchft_QuorumMember) {
        runs[run, default: RunState()].requests[slot] = member
    }

    func quorum(run: String, decision: QuorumDecision, now: Date) -> Torchft_Quorum {
        var state = runs[run] ?? RunState()
        if let answer = state.answers[decision.id] { return answer }
        let participants = decision.slots.compactMap { state.requests[$0] }.sorted { $0.replicaID < $1.replicaID }
        let ids = participants.map(\.replicaID)
        let id = state.last.map { $0.replicas == ids ? $0.id : $0.id + 1 } ?? firstId
        var quorum = Torchft_Quorum()
        quorum.quorumID = id
        quorum.participants = participants
        quorum.created = Google_Protobuf_Timestamp(date: now)
        state.last = (id, ids)
        state.answers[decision.id] = quorum
        if state.answers.count > 8, let oldest = state.answers.keys.min() { state.answers[oldest] = nil }
        runs[run] = state
        return quorum
    }

    func forget(run: String) {
        runs[run] = nil
    }
}

/// Runs as the Lighthouse endpoint sees them. torchft heartbeats every 100 ms per replica group, so a heartbeat must
/// cost no store read, no actor hop and no scan of the plan: entries are read under a lock, and a stale one (older than
/// a second) is refreshed by one caller while the others go on with it. A run's slot index and counter are rebuilt
/// only when its active revision changes. Callers that find no entry at all (first contact) share one load.
final class LighthouseRuns: Sendable {
    struct Entry: Sendable {
        var run: RunRecord
        var plan: Plan
        /// Each slot's group index: a heartbeat looks its slot up here, not by a scan of the plan.
        var groups: [String: Int]
        var timeout: TimeInterval
        var beats: Metrics.Counter
        var at: Date
    }

    struct Admitted: Sendable {
        var id: TorchftReplicaID
        var run: RunRecord
        var plan: Plan
        var timeout: TimeInterval
        var beats: Metrics.Counter
    }

    struct State {
        var entries: [String: Entry] = [:]
        /// Runs being read again, by the caller that found their entry stale, or by the load first contacts share.
        var loads: [String: Task<Entry?, Error>] = [:]
    }

    /// How long an entry is used as it is, and how long a stale one may still answer while it is read again.
    static let fresh: TimeInterval = 1, usable: TimeInterval = 10
    private let state = Mutex(State())

    func entry(run name: String, plane: ControlPlane) async throws -> Entry? {
        let now = plane.now()
        enum Next { case use(Entry), wait(Task<Entry?, Error>) }
        let next: Next = state.withLock { state in
            let entry = state.entries[name]
            if let entry, now.timeIntervalSince(entry.at) < Self.fresh { return .use(entry) }
            if let entry, now.timeIntervalSince(entry.at) < Self.usable, state.loads[name] != nil { return .use(entry) }
            if let load = state.loads[name] { return .wait(load) }
            let load = Task { try await Self.load(name, plane: plane, previous: entry) }
            state.loads[name] = load
            return .wait(load)
        }
        switch next {
        case let .use(entry):
            return entry
        case let .wait(load):
            let result = await load.result
            state.withLock { state in
                guard let current = state.loads[name], current == load else { return }
                state.loads[name] = nil
                switch result {
                case let .success(entry?):
                    state.entries[name] = entry
                    if state.entries.count > 1024 { state.entries = state.entries.filter { now.timeIntervalSince($0.value.at) < Self.usable } }
                case .success(nil): state.entries[name] = nil
                case .failure: break
                }
            }
            return try result.get()
        }
    }

    private static func load(_ name: String, plane: ControlPlane, previous: Entry?) async throws -> Entry? {
        guard let run = try await plane.store.run(name), let plan = try await plane.activePlan(of: run) else { return nil }
        let timeout = await plane.heartbeatTimeout(of: run, plan: plan)
        if var entry = previous, entry.run.activeRevision == run.activeRevision, entry.plan.contentHash == plan.contentHash {
            entry.run = run
            entry.timeout = timeout
            entry.at = plane.now()
            return entry
        }
        var groups: [String: Int] = [:]
        for site in plan.sites {
            for replica in site.replicas { groups[replica.slot] = replica.globalIndex }
        }
        return Entry(run: run, plan: plan, groups: groups, timeout: timeout, beats: ServerMetrics.heartbeatMembers(run: name), at: plane.now())
    }
}
