import Foundation
import IntermeshAPI
import IntermeshClient
import IntermeshControl
import IntermeshPlan
import IntermeshSpec

/// Membership through the control plane (`intermesh serve`): heartbeats with a deathrattle, a long-polled
/// quorum per outer step, announced joins, and donors it assigns. Peers are learnt from the control plane's
/// answers (slots and addresses), so members that a later revision added are reachable too.
public final class ManagedMembership: Membership, @unchecked Sendable {
    let client: APIClient
    let transport = CurlTransport()
    let run: String
    let site: String
    let slot: String
    let memberId: String
    let incarnation: Int
    let address: PeerAddress
    /// Seconds between heartbeats: the active revision's `faultPolicy.heartbeatInterval` (it switches with the revision).
    var interval: Double
    let shouldStop: @Sendable () -> Bool
    let lock = NSLock()
    var state = MemberState.joining
    var outerStep = 0
    var loss: Double?
    var tokensPerSecond: Double?
    /// Content hash of the revision trained with now.
    var revisionHash: String
    var running = true
    var draining = false
    /// The control plane lost this member and relaunched its slot (`HeartbeatResponse.replaced`, or 409 `replaced`).
    var replaced = false
    /// The link toward the next member of the last ring, as measured.
    var uplink: (mbps: Double, to: String)?
    /// Peers by local index: the plan's replicas first (index = plan index), then slots learnt later.
    var peers: [PeerAddress]
    /// From which outer step each revision is active at this site, as the control plane last said.
    var schedule: [(revision: Int, fromStep: Int)] = []
    /// Plans of the scheduled revisions this member has loaded (acknowledged).
    var loaded: [Int: Plan] = [:]
    var activeRevision: Int
    var evalLoss: Double?
    var evalBySource: [String: Double] = [:]
    /// The revision the control plane said a step trains with, when it refused this member's (the member
    /// heard of the change too late); wins over the schedule, which may not have arrived yet.
    var pinned: (step: Int, revision: Int)?
    /// When the control plane last answered this member.
    var lastContact = Date()
    /// Seconds without the control plane and the agent after which the member stops (`faultPolicy.orphanTimeout`).
    var orphanTimeout: Double
    /// The agent's process, when it runs on this machine (`INTERMESH_AGENT_PID`); nil when it cannot be seen from here.
    let agentPid: Int32?

    public init(server: String, token: String, plan: Plan, revision: Int, slot: String, memberId: String, incarnation: Int, peers: [PeerAddress],
                me: PeerAddress, agentPid: Int32? = nil, shouldStop: @escaping @Sendable () -> Bool) {
        self.agentPid = agentPid
        orphanTimeout = plan.run.spec.faultPolicy.effectiveOrphanTimeout.seconds
        activeRevision = revision
        if revision > 0 { loaded[revision] = plan }
        client = APIClient(server: server, token: token, environment: [:], timeout: .seconds(10), transport: transport)
        run = plan.runName
        site = String(slot.split(separator: "/")[0])
        self.slot = slot
        self.memberId = memberId
        self.incarnation = incarnation
        self.peers = peers
        address = me
        interval = plan.run.spec.faultPolicy.heartbeatInterval.seconds
        revisionHash = plan.contentHash
        self.shouldStop = shouldStop
    }

    /// Registers and keeps heartbeating on a thread of its own until `leave`.
    public func start() throws {
        // A random phase: replicas that an agent launched together do not beat together either.
        let phase = Double.random(in: 0..<1)
        let grid = { @Sendable (interval: Double) in BeatSchedule(anchor: Date().addingTimeInterval(phase * max(0.001, interval)), interval: interval) }
        try beat(leaving: false)
        let first = currentInterval
        let thread = Thread { [weak self] in
            var sent = Date()
            var schedule = grid(first)
            while let self, self.isRunning {
                // A revision with another heartbeat interval took effect: a new grid, same phase.
                if self.currentInterval != schedule.interval { schedule = grid(self.currentInterval) }
                // The grid point after the last beat was sent: a slow answer skips beats instead of shifting them.
                Thread.sleep(until: schedule.next(after: sent))
                guard self.isRunning else { return }
                sent = Date()
                try? self.beat(leaving: false)
            }
        }
        thread.name = "heartbeat"
        thread.start()
        let watcher = Thread { [weak self] in self?.watchSchedule() }
        watcher.name = "schedule-watch"
        watcher.start()
    }

    var currentInterval: Double {
        lock.lock()
        defer { lock.unlock() }
        return interval
    }

    var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return running
    }

    public var drainRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return draining
    }

    public func report(state: MemberState, outerStep: Int) {
        lock.lock()
        self.state = state
        self.outerStep = outerStep
        lock.unlock()
    }

    public func report(loss: Double, tokensPerSecond: Double, evalBySource: [String: Double]) {
        lock.lock()
        self.loss = loss
        self.tokensPerSecond = tokensPerSecond
        self.evalBySource = evalBySource.filter { $0.value.isFinite }
        lock.unlock()
    }

    func beat(leaving: Bool) throws {
        lock.lock()
        // After the deathrattle only the deathrattle goes out: a late beat from another thread would bring it back.
        guard leaving || running else {
            lock.unlock()
            return
        }
        let member = MemberBeat(
            id: memberId, slot: slot, incarnation: incarnation, state: state, outerStep: outerStep, revision: revisionHash, leaving: leaving,
            loss: loss.flatMap { $0.isFinite ? $0 : nil }, tokensPerSecond: tokensPerSecond, address: address.memberAddress,
            acknowledged: loaded.keys.max(), activeRevision: activeRevision > 0 ? activeRevision : nil,
            evalLoss: evalLoss.map { $0.isFinite ? $0 : 1e30 }, evalBySource: evalBySource.isEmpty ? nil : evalBySource, rejectedConnections: DataPlaneRejections.total,
            uplinkMbps: uplink?.mbps, uplinkTo: uplink?.to)
        lock.unlock()
        let (run, site) = (self.run, self.site)
        let answer: HeartbeatResponse
        do {
            answer = try client.blocking { try await $0.heartbeat(run: run, site: site, HeartbeatBody(members: [member]), timeout: .seconds(5)) }
        } catch let error as APIClientError where error.status != 0 {
            throw MembershipError.noQuorum("heartbeat refused (\(error.status)): \(error.message)")
        }
        lock.lock()
        lastContact = Date()
        if answer.drain.contains(memberId) { draining = true }
        if answer.replaced?.contains(memberId) == true { replaced = true }
        lock.unlock()
        if adopt(answer.schedule), !leaving { try beat(leaving: false) }
    }

    /// Takes the control plane's schedule and loads the revisions it reaches; true when that acknowledged a new
    /// revision (loading it is acknowledging it: the member can switch at its step), which the caller then
    /// reports at once rather than a heartbeat interval later.
    func adopt(_ entries: [RevisionSchedule.Entry]) -> Bool {
        lock.lock()
        schedule = entries.map { ($0.revision, $0.fromStep) }
        let step = outerStep
        let before = loaded.keys.max()
        lock.unlock()
        for revision in upcoming(after: step) { _ = try? load(revision) }
        lock.lock()
        defer { lock.unlock() }
        return loaded.keys.max() != before
    }

    /// Holds a request open for the site's schedule (a long poll), so an apply reaches this member at once.
    func watchSchedule() {
        let (run, site) = (self.run, self.site)
        var version = -1
        while isRunning {
            let after = version
            guard let answer = try? client.blocking({ try await $0.schedule(run: run, site: site, after: after) }) else {
                // The control plane is away or refused: heartbeats carry the schedule meanwhile.
                Thread.sleep(forTimeInterval: 1)
                continue
            }
            version = answer.version
            if adopt(answer.schedule), isRunning { try? beat(leaving: false) }
        }
    }

    /// Revisions of the schedule this member may still train with: the one of its next step and those after.
    func upcoming(after step: Int) -> [Int] {
        lock.lock()
        defer { lock.unlock() }
        let current = schedule.last { $0.fromStep <= step + 1 }?.revision
        let later = schedule.filter { $0.fromStep > step + 1 }.map(\.revision)
        return (current.map { [$0] } ?? []) + later
    }

    /// Fetches a revision's plan (once).
    func load(_ revision: Int) throws -> Plan {
        lock.lock()
        if let plan = loaded[revision] {
            lock.unlock()
            return plan
        }
        lock.unlock()
        let run = self.run
        let record: RevisionRecord
        do {
            record = try client.blocking { try await $0.revision(of: run, number: revision) }
        } catch {
            throw MembershipError.noQuorum("revision \(revision) could not be loaded: \(error)")
        }
        let plan = try JSONDecoder().decode(Plan.self, from: Data(record.plan.utf8))
        lock.lock()
        loaded[revision] = plan
        // Keep the plans the schedule can still reach.
        let wanted = Set(schedule.map(\.revision)).union([activeRevision, revision])
        loaded = loaded.filter { wanted.contains($0.key) }
        lock.unlock()
        return plan
    }

    public func revision(forStep step: Int) -> (number: Int, plan: Plan)? {
        lock.lock()
        let number = pinned.flatMap { $0.step == step ? $0.revision : nil } ?? schedule.last { $0.fromStep <= step }?.revision
        lock.unlock()
        guard let number, let plan = try? load(number) else { return nil }
        return (number, plan)
    }

    public func report(uplinkMbps: Double?, to slot: String?) {
        lock.lock()
        uplink = uplinkMbps.flatMap { mbps in slot.map { (mbps, $0) } }
        lock.unlock()
    }

    public func report(activeRevision: Int, evalLoss: Double?) {
        lock.lock()
        self.activeRevision = activeRevision
        if let plan = loaded[activeRevision] {
            revisionHash = plan.contentHash
            interval = plan.run.spec.faultPolicy.heartbeatInterval.seconds
            orphanTimeout = plan.run.spec.faultPolicy.effectiveOrphanTimeout.seconds
        }
        if let evalLoss { self.evalLoss = evalLoss }
        lock.unlock()
    }

    public func peer(_ index: Int) -> PeerAddress {
        lock.lock()
        defer { lock.unlock() }
        return peers[index]
    }

    /// The local index of a slot, learning (or updating) its address.
    func index(slot: String, host: String, ringPort: Int, controlPort: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        if let known = peers.firstIndex(where: { $0.id == slot }) {
            if !host.isEmpty, ringPort > 0 {
                peers[known].host = host
                peers[known].ringPort = ringPort
                peers[known].controlPort = controlPort
            }
            return known
        }
        peers.append(PeerAddress(index: peers.count, id: slot, host: host, controlPort: controlPort, ringPort: ringPort))
        return peers.count - 1
    }

    public func join(step: Int, failed: Quorum?, suspects: [Int]) throws -> Quorum {
        let deadline = Date().addingTimeInterval(600)
        let (run, site) = (self.run, self.site)
        while Date() < deadline {
            if shouldStop() { throw MembershipError.stopped }
            if let silent = orphanedFor() { throw MembershipError.orphaned(seconds: Int(silent)) }
            lock.lock()
            if replaced {
                lock.unlock()
                throw MembershipError.replaced
            }
            let request = QuorumRequest(step: step, slot: slot, failed: failed?.id, revision: activeRevision > 0 ? activeRevision : nil,
                                        member: memberId)
            lock.unlock()
            let answer: QuorumResponse
            do {
                answer = try client.blocking { try await $0.quorum(run: run, site: site, request) }
            } catch let error as APIClientError where error.status == 409 && error.code == "replaced" {
                throw MembershipError.replaced
            } catch let error as APIClientError where error.status != 0 && error.status != 502 && error.status != 503 {
                throw MembershipError.noQuorum("quorum request refused (\(error.status)): \(error.message)")
            } catch {
                // The control plane is away: keep asking; training state is kept meanwhile.
                Thread.sleep(forTimeInterval: 1)
                continue
            }
            lock.lock()
            lastContact = Date()
            lock.unlock()
            switch answer.status {
            case .formed:
                guard let decision = answer.quorum else { throw MembershipError.noQuorum("a formed quorum without its decision") }
                let members = answer.ring.map { index(slot: $0.slot, host: $0.host, ringPort: $0.ringPort, controlPort: $0.controlPort) }
                let weights = answer.weights.map { $0.map(Float.init) }
                return Quorum(id: decision.id, step: step, members: members, weights: weights?.count == members.count ? weights : nil)
            case .missed:
                throw MembershipError.missedStep(step)
            case .stale:
                let revision = answer.revision ?? 0
                lock.lock()
                pinned = (step, revision)
                lock.unlock()
                throw MembershipError.staleRevision(step: step, revision: revision)
            case .waiting:
                continue
            }
        }
        throw MembershipError.noQuorum("no quorum for outer step \(step)")
    }

    /// Seconds since the control plane last answered, once that is past `orphanTimeout` and the agent is gone too
    /// (a replica whose agent is not on this machine knows it only through the control plane); nil otherwise.
    func orphanedFor(now: Date = Date()) -> Double? {
        lock.lock()
        let silent = now.timeIntervalSince(lastContact)
        let timeout = orphanTimeout
        lock.unlock()
        guard silent > timeout else { return nil }
        if let agentPid, kill(agentPid, 0) == 0 || errno == EPERM { return nil }
        return silent
    }

    public func intend(step: Int) throws {
        let (run, site, request) = (self.run, self.site, QuorumRequest(step: step, slot: slot))
        do {
            _ = try client.blocking { try await $0.intend(run: run, site: site, request) }
        } catch {
            throw MembershipError.noQuorum("intent refused: \(error)")
        }
    }

    public func leave() {
        lock.lock()
        running = false
        state = .draining
        lock.unlock()
        try? beat(leaving: true)
        // The schedule watch's long poll ends now rather than holding the process open.
        transport.close()
    }

    public func completed(_ quorum: Quorum) {}

    public func donors(newerThan step: Int) -> [(peer: Int, outerStep: Int)] {
        let (run, site, request) = (self.run, self.site, QuorumRequest(step: 0, slot: slot))
        guard let donor = try? client.blocking({ try await $0.donor(run: run, site: site, request) }), donor.outerStep > step else { return [] }
        let peer = index(slot: donor.slot, host: donor.host, ringPort: donor.ringPort, controlPort: donor.controlPort)
        return [(peer, donor.outerStep)]
    }
}
