import Foundation
import IntermeshAPI
import IntermeshClient
import IntermeshSpec

extension Trainer {
    /// Opens the ring and control ports, resumes from a checkpoint, and catches up from a live peer.
    func startLeader() throws {
        let policy = config.spec.faultPolicy
        let box = SnapshotBox()
        let peers = config.peers
        // A missing member whose control port refuses connections has died: no need to wait for it.
        let room = CoordinatorRoom(peerCount: peers.count, minReplicas: policy.minReplicas,
                              joinTimeout: policy.joinTimeout.seconds, previous: Set(peers.map(\.index)), lastId: 0,
                              probe: { index in (try? Socket.connect(host: peers[index].host, port: peers[index].controlPort, timeout: 1)) != nil })
        // A replica whose node the plan cannot know (a Slurm allocation) listens where it can and advertises
        // where it is; peers learn the address from the control plane's answers.
        let placed = config.replica.host == "slurm"
        let key = try dataPlaneKey()
        dataKey = key
        let bind = placed ? "0.0.0.0" : BindAddress.resolve(config.replica.host)
        let ring = try Self.listen(port: config.replica.ports.ring, anyPortIfBusy: placed) { try RingEndpoint(port: $0, host: bind, key: key) }
        let control = try Self.listen(port: config.replica.ports.recovery, anyPortIfBusy: placed) {
            try ControlServer(port: $0, host: bind, key: key, room: room, box: box, joinTimeout: policy.joinTimeout.seconds)
        }
        self.ring = ring
        self.control = control
        var me = config.peers[config.me]
        if placed {
            me.host = Self.hostName()
            me.ringPort = ring.port
            me.controlPort = control.port
        }
        let membership: any Membership
        switch config.mode {
        case .standalone:
            membership = StandaloneMembership(peers: config.peers, me: config.me, room: room, joinTimeout: policy.joinTimeout.seconds, key: key,
                                              shouldStop: { stopRequested != 0 })
        case let .managed(server, token, memberId, incarnation):
            let managed = ManagedMembership(server: server, token: token, plan: config.plan, revision: config.settings.revision, slot: config.replica.slot,
                                            memberId: memberId, incarnation: incarnation, peers: config.peers, me: me,
                                            agentPid: ProcessInfo.processInfo.environment["INTERMESH_AGENT_PID"].flatMap { Int32($0) },
                                            shouldStop: { stopRequested != 0 })
            try managed.start()
            membership = managed
        }
        self.box = box
        self.membership = membership
        let store = CheckpointStore(directory: config.checkpointDirectory, keep: config.spec.training.checkpoint.keep)
        self.store = store
        TrainerLog.setCommon(["run": config.plan.runName, "slot": config.replica.slot, "replica": config.me])
        TrainerLog.emit("start", ["parameters": global.count, "ranks": group.size, "peers": config.peers.count,
                                  "revision": settings.revision, "revision_hash": config.plan.contentHash, "inner_steps": settings.innerSteps])

        let (resumed, skipped) = store.loadNewest()
        for item in skipped {
            TrainerLog.emit("checkpoint_skipped", ["file": item.file, "reason": item.reason])
        }
        if let resumed {
            adopt(resumed, quorum: nil)
            TrainerLog.emit("resumed", ["outer_step": outerStep, "hash": resumed.parameterHash, "source": "checkpoint"])
        }
        box.publish(snapshot, quorum: nil)

        // A peer that is ahead means the run went on without us: recover from it at its next boundary.
        // A donor may leave mid-transfer: ask for another one a few times before giving up.
        for attempt in 1...5 {
            let donors = membership.donors(newerThan: outerStep)
            guard let newest = donors.first?.outerStep else { break }
            do {
                try recover(from: donors.map(\.peer), after: newest)
                break
            } catch {
                if attempt == 5 { throw error }
                Thread.sleep(forTimeInterval: 1)
            }
        }
        membership.report(state: .training, outerStep: outerStep)
    }

    /// Listens on `port`, or on any free port when it is taken and the replica may move.
    /// The run's data-plane key: from the control plane for a managed replica, from `$INTERMESH_DATA_KEY` for a
    /// standalone one (none there: its ports authenticate nothing).
    func dataPlaneKey() throws -> DataPlaneKey? {
        switch config.mode {
        case .standalone:
            guard let text = ProcessInfo.processInfo.environment["INTERMESH_DATA_KEY"] else { return nil }
            guard let key = DataPlaneKey(hex: text) else { throw TrainerConfig.Failure(description: "$INTERMESH_DATA_KEY must be at least 16 bytes in hex") }
            return key
        case let .managed(server, token, _, _):
            let site = String(config.replica.slot.split(separator: "/")[0]), run = config.plan.runName
            let client = APIClient(server: server, token: token, environment: [:], timeout: .seconds(10), transport: CurlTransport())
            let text = try client.blocking { try await $0.dataKey(run: run, site: site).key }
            guard let key = DataPlaneKey(hex: text) else { throw TrainerConfig.Failure(description: "the control plane's data-plane key is not hex") }
            return key
        }
    }

    static func listen<T>(port: Int, anyPortIfBusy: Bool, _ open: (Int) throws -> T) throws -> T {
        do {
            return try open(port)
        } catch where anyPortIfBusy {
            return try open(0)
        }
    }

    /// This node's name, as peers reach it (Slurm's name for it, else the host name).
    static func hostName() -> String {
        if let node = ProcessInfo.processInfo.environment["SLURMD_NODENAME"], !node.isEmpty { return node }
        return ProcessInfo.processInfo.hostName
    }

    /// Pulls the state of a donor's first outer step after `after`, checks it, and announces the step we join.
    func recover(from donors: [Int], after: Int) throws {
        guard let membership, !donors.isEmpty else { return }
        // Spread joiners over donors: each picks by its own index.
        let ordered = donors.sorted()
        let first = config.me % ordered.count
        var lastError: Error?
        for donor in ordered[first...] + ordered[..<first] {
            do {
                let started = Date()
                let (snapshot, donorQuorum) = try SnapshotClient.pull(from: membership.peer(donor), after: after, key: dataKey)
                adopt(snapshot, quorum: donorQuorum)
                adam = Self.freshAdam(settings, count: global.count)
                recovered = true
                if let donorQuorum { membership.completed(donorQuorum) }
                try membership.intend(step: outerStep + 1)
                box?.publish(self.snapshot, quorum: donorQuorum)
                TrainerLog.emit("recovered", ["donor": membership.peer(donor).id, "outer_step": outerStep, "hash": snapshot.parameterHash,
                                              "seconds": Date().timeIntervalSince(started)])
                return
            } catch {
                lastError = error
                TrainerLog.emit("recovery_failed", ["donor": membership.peer(donor).id, "error": "\(error)"])
            }
        }
        throw lastError ?? MembershipError.noQuorum("no donor")
    }

    func adopt(_ snapshot: TrainerSnapshot, quorum: Quorum?) {
        global = snapshot.global
        outer.buffer = snapshot.momentum
        outerStep = snapshot.outerStep
        innerStep = snapshot.innerStep
        self.quorum = quorum
    }

    /// The outer step: quorum, all-reduce of the pseudo-gradient, Nesterov; retried with the next quorum on failure.
    func outerStep(local: [Float], trainLoss: Double, innerSeconds: Double) throws {
        guard let membership, let ring else { return }
        let step = outerStep + 1
        var pseudo = global
        for i in pseudo.indices { pseudo[i] -= local[i] }
        var failed: Quorum?
        var suspects: [Int] = []
        let started = Date()
        membership.report(state: .syncing, outerStep: outerStep)
        if case .managed = config.mode {
            // The canary gate compares replicas by their local parameters' evaluation loss.
            let batches = mix.evaluationBatches(size: 64)
            let losses = batches.map { Double(model.loss(local, inputs: $0.inputs, targets: $0.targets)) }
            membership.report(activeRevision: settings.revision, evalLoss: losses.reduce(0, +) / Double(max(1, losses.count)))
        }
        while true {
            let quorum: Quorum
            do {
                box?.joining(true)
                defer { box?.joining(false) }
                quorum = try membership.join(step: step, failed: failed, suspects: suspects)
            } catch MembershipError.missedStep {
                // The step went on without us: our pseudo-gradient is dropped, and we catch up at the next boundary.
                TrainerLog.emit("missed_step", ["outer_step": step])
                try recover(from: membership.donors(newerThan: step - 2).map(\.peer), after: step - 1)
                return
            }
            let position = quorum.members.firstIndex(of: config.me)!
            let peers = quorum.members.map { membership.peer($0) }.map { RingPeer(id: $0.id, host: $0.host, port: $0.ringPort) }
            do {
                let outcome = try RingAllReduce.run(pseudo, peers: peers, me: position, quorum: quorum.id,
                                                    quantize: settings.quantize,
                                                    endpoint: ring, timeout: config.syncTimeoutOverride ?? settings.syncTimeout,
                                                    weights: quorum.weights)
                outer.apply(global: &global, averagedPseudoGradient: outcome.mean)
                outerStep = step
                self.quorum = quorum
                membership.completed(quorum)
                membership.report(state: .training, outerStep: step)
                box?.publish(snapshot, quorum: quorum)
                checkpointIfDue()
                report(quorum: quorum, outcome: outcome, trainLoss: trainLoss, innerSeconds: innerSeconds,
                       syncSeconds: Date().timeIntervalSince(started))
                return
            } catch let error as RingAllReduce.Failure {
                TrainerLog.emit("sync_failed", ["outer_step": step, "quorum_id": Int(quorum.id), "error": error.description])
                failed = quorum
                suspects = error.suspect.map { [quorum.members[$0]] } ?? []
            }
        }
    }

    func checkpointIfDue() {
        guard outerStep % settings.checkpointEvery == 0 else { return }
        checkpointNow()
    }

    /// Writes the global parameters and outer-optimizer state of the last outer step.
    func checkpointNow() {
        guard let store else { return }
        do {
            try store.write(snapshot)
            TrainerLog.emit("checkpoint", ["outer_step": outerStep, "hash": TrainerSnapshot.hash(global)])
        } catch {
            TrainerLog.emit("checkpoint_failed", ["outer_step": outerStep, "error": "\(error)"])
        }
    }

    func report(quorum: Quorum, outcome: RingAllReduce.Outcome, trainLoss: Double, innerSeconds: Double, syncSeconds: Double) {
        var evaluation: [String: Double] = [:]
        for batch in mix.evaluationBatches(size: 128) {
            evaluation[batch.name] = Double(model.loss(global, inputs: batch.inputs, targets: batch.targets))
        }
        let tokens = Double(settings.innerSteps * settings.batchSize * config.shape.context)
        membership?.report(loss: trainLoss, tokensPerSecond: (tokens / max(1e-9, innerSeconds)).rounded(), evalBySource: evaluation)
        // This step's measurement replaces the last one; a sync too short to time clears it.
        var uplink: [String: Any] = [:]
        let position = quorum.members.firstIndex(of: config.me)
        let next = position.flatMap { quorum.members.count > 1 ? membership?.peer(quorum.members[($0 + 1) % quorum.members.count]).id : nil }
        let mbps = outcome.sendRate.map { ($0 * 8 / 1_000_000 * 10).rounded() / 10 }
        membership?.report(uplinkMbps: next == nil ? nil : mbps, to: next)
        if let mbps, let next { uplink = ["uplink_mbps": mbps, "uplink_to": next] }
        TrainerLog.emit("outer", uplink.merging([
            "outer_step": outerStep, "inner_step": innerStep, "quorum_id": Int(quorum.id),
            "quorum": quorum.members.compactMap { membership?.peer($0).id }, "loss": trainLoss, "eval": evaluation,
            "bytes_sent": outcome.bytesSent, "bytes_received": outcome.bytesReceived,
            "sync_seconds": syncSeconds, "tokens_per_s": (tokens / max(1e-9, innerSeconds)).rounded(),
            "hash": TrainerSnapshot.hash(global), "revision": settings.revision, "revision_hash": revisionHash,
        ]) { $1 })
    }
}
