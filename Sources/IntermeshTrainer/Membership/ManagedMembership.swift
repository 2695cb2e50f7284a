import Foundation
import IntermeshControl
import IntermeshPlan

/// Membership through the control plane (`intermesh serve`): heartbeats with a deathrattle, a long-polled
/// quorum per outer step, announced joins, and donors it assigns. Peers are learnt from the control plane's
/// answers (slots and addresses), so members that a later revision added are reachable too.
public final class ManagedMembership: Membership, @unchecked Sendable {
    let server: String
    let token: String
    let run: String
    let site: String
    let slot: String
    let memberId: String
    let incarnation: Int
    let address: PeerAddress
    let interval: Double
    let shouldStop: @Sendable () -> Bool
    let lock = NSLock()
    var state = "joining"
    var outerStep = 0
    var loss: Double?
    var tokensPerSecond: Double?
    /// Content hash of the revision trained with now.
    var revisionHash: String
    var running = true
    var draining = false
    /// Peers by local index: the plan's replicas first (index = plan index), then slots learnt later.
    var peers: [PeerAddress]
    /// From which outer step each revision is active at this site, as the control plane last said.
    var schedule: [(revision: Int, fromStep: Int)] = []
    /// Plans of the scheduled revisions this member has loaded (acknowledged).
    var loaded: [Int: Plan] = [:]
    var activeRevision: Int
    var evalLoss: Double?
    /// The revision the control plane said a step trains with, when it refused this member's (the member
    /// heard of the change too late); wins over the schedule, which may not have arrived yet.
    var pinned: (step: Int, revision: Int)?

    public init(server: String, token: String, plan: Plan, revision: Int, slot: String, memberId: String, incarnation: Int, peers: [PeerAddress],
                me: PeerAddress, shouldStop: @escaping @Sendable () -> Bool) {
        activeRevision = revision
        if revision > 0 { loaded[revision] = plan }
        self.server = server
        self.token = token
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
        let schedule = BeatSchedule(anchor: Date().addingTimeInterval(Double.random(in: 0..<max(0.001, interval))), interval: interval)
        try beat(leaving: false)
        let thread = Thread { [weak self] in
            var sent = Date()
            while let self, self.isRunning {
                // The grid point after the last beat was sent: a slow answer skips beats instead of shifting them.
                Thread.sleep(until: schedule.next(after: sent))
                guard self.isRunning else { return }
                sent = Date()
                try? self.beat(leaving: false)
            }
        }
        thread.name = "heartbeat"
        thread.start()
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

    public func report(state: String, outerStep: Int) {
        lock.lock()
        self.state = state
        self.outerStep = outerStep
        lock.unlock()
    }

    public func report(loss: Double, tokensPerSecond: Double) {
        lock.lock()
        self.loss = loss
        self.tokensPerSecond = tokensPerSecond
        lock.unlock()
    }

    func beat(leaving: Bool) throws {
        lock.lock()
        var member: [String: Any] = [
            "id": memberId, "slot": slot, "incarnation": incarnation, "state": state, "outerStep": outerStep, "revision": revisionHash,
            "leaving": leaving,
            "address": ["host": address.host, "ringPort": address.ringPort, "controlPort": address.controlPort],
        ]
        if let loss, loss.isFinite { member["loss"] = loss }
        if let tokensPerSecond { member["tokensPerSecond"] = tokensPerSecond }
        if let evalLoss { member["evalLoss"] = evalLoss.isFinite ? evalLoss : 1e30 }
        if activeRevision > 0 { member["activeRevision"] = activeRevision }
        if let newest = loaded.keys.max() { member["acknowledged"] = newest }
        lock.unlock()
        let (status, body) = try HTTPCall.post(server, "/v1/runs/\(run)/sites/\(site)/heartbeats", token: token,
                                               json: ["members": [member]], timeout: 5)
        guard status == 200 else { throw MembershipError.noQuorum("heartbeat refused (\(status)): \(Self.message(body))") }
        if let drain = body["drain"] as? [String], drain.contains(memberId) {
            lock.lock()
            draining = true
            lock.unlock()
        }
        if let entries = body["schedule"] as? [[String: Any]] {
            let parsed = entries.compactMap { entry -> (revision: Int, fromStep: Int)? in
                guard let revision = entry["revision"] as? Int, let step = entry["fromStep"] as? Int else { return nil }
                return (revision, step)
            }
            lock.lock()
            schedule = parsed
            let step = outerStep
            lock.unlock()
            // Acknowledging a revision is loading it: the member can then switch at its step. The control
            // plane hears of it at once rather than a heartbeat interval later.
            lock.lock()
            let before = loaded.keys.max()
            lock.unlock()
            for revision in upcoming(after: step) { _ = try? load(revision) }
            lock.lock()
            let after = loaded.keys.max()
            lock.unlock()
            if after != before, !leaving { try beat(leaving: false) }
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
        let (status, body) = try HTTPCall.get(server, "/v1/runs/\(run)/revisions/\(revision)", token: token, timeout: 10)
        guard status == 200, let text = body["plan"] as? String else {
            throw MembershipError.noQuorum("revision \(revision) could not be loaded (\(status)): \(Self.message(body))")
        }
        let plan = try JSONDecoder().decode(Plan.self, from: Data(text.utf8))
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

    public func report(activeRevision: Int, evalLoss: Double?) {
        lock.lock()
        self.activeRevision = activeRevision
        if let hash = loaded[activeRevision]?.contentHash { revisionHash = hash }
        if let evalLoss { self.evalLoss = evalLoss }
        lock.unlock()
    }

    static func message(_ body: [String: Any]) -> String {
        ((body["error"] as? [String: Any])?["message"] as? String) ?? "no message"
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
        while Date() < deadline {
            if shouldStop() { throw MembershipError.stopped }
            var request: [String: Any] = ["step": step, "slot": slot]
            if let failed { request["failed"] = failed.id }
            lock.lock()
            if activeRevision > 0 { request["revision"] = activeRevision }
            lock.unlock()
            guard let (status, body) = try? HTTPCall.post(server, "/v1/runs/\(run)/sites/\(site)/quorum", token: token, json: request, timeout: 30) else {
                // The control plane is away: keep asking; training state is kept meanwhile.
                Thread.sleep(forTimeInterval: 1)
                continue
            }
            if status == 503 || status == 502 {
                Thread.sleep(forTimeInterval: 1)
                continue
            }
            guard status == 200 else { throw MembershipError.noQuorum("quorum request refused (\(status)): \(Self.message(body))") }
            switch body["status"] as? String {
            case "formed":
                guard let quorum = body["quorum"] as? [String: Any], let id = quorum["id"] as? Int, let ring = body["ring"] as? [[String: Any]] else {
                    throw MembershipError.noQuorum("malformed quorum answer")
                }
                let members = ring.map {
                    index(slot: $0["slot"] as? String ?? "", host: $0["host"] as? String ?? "", ringPort: $0["ringPort"] as? Int ?? 0,
                          controlPort: $0["controlPort"] as? Int ?? 0)
                }
                let weights = (body["weights"] as? [Any])?.compactMap { ($0 as? NSNumber)?.floatValue }
                return Quorum(id: UInt64(id), step: step, members: members, weights: weights?.count == members.count ? weights : nil)
            case "missed":
                throw MembershipError.missedStep(step)
            case "stale":
                let revision = body["revision"] as? Int ?? 0
                lock.lock()
                pinned = (step, revision)
                lock.unlock()
                throw MembershipError.staleRevision(step: step, revision: revision)
            default:
                continue
            }
        }
        throw MembershipError.noQuorum("no quorum for outer step \(step)")
    }

    public func intend(step: Int) throws {
        let (status, body) = try HTTPCall.post(server, "/v1/runs/\(run)/sites/\(site)/intent", token: token, json: ["step": step, "slot": slot], timeout: 10)
        guard status == 200 else { throw MembershipError.noQuorum("intent refused (\(status)): \(Self.message(body))") }
    }

    public func leave() {
        lock.lock()
        running = false
        state = "draining"
        lock.unlock()
        try? beat(leaving: true)
    }

    public func completed(_ quorum: Quorum) {}

    public func donors(newerThan step: Int) -> [(peer: Int, outerStep: Int)] {
        guard let (status, body) = try? HTTPCall.post(server, "/v1/runs/\(run)/sites/\(site)/donor", token: token, json: ["step": 0, "slot": slot], timeout: 10),
              status == 200, let donorSlot = body["slot"] as? String, let donorStep = body["outerStep"] as? Int, donorStep > step else { return [] }
        let peer = index(slot: donorSlot, host: body["host"] as? String ?? "", ringPort: body["ringPort"] as? Int ?? 0,
                         controlPort: body["controlPort"] as? Int ?? 0)
        return [(peer, donorStep)]
    }
}
