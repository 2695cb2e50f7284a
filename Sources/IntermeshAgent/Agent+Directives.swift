#if canImport(Glibc)
import Glibc
#endif
import Foundation
import IntermeshAPI
import IntermeshPlan

extension Agent {
    /// Carries out one answer of the control plane.
    func act(on response: AgentResponse) async throws {
        if response.activeRevision != revision { try await load(revision: response.activeRevision) }
        if response.phase != phase {
            say("run is \(response.phase)")
            phase = response.phase
        }
        guard response.phase == .running, let plan else {
            let drain = plan?.membership ?? .native == .native
            for record in state.replicas where record.stopRequestedAt == nil { requestStop(record.member, reason: "run \(response.phase)", drain: drain) }
            return
        }
        let issued = response.issuedAt ?? .distantPast
        for directive in response.directives {
            switch directive.action {
            case .launch:
                if let running = state.replicas.first(where: { $0.slot == directive.slot }) {
                    // The control plane lost this incarnation (silent past the timeout and any disconnect grace) and
                    // relaunches the slot: it stops first, so two incarnations never train one slot.
                    if running.member == directive.member {
                        requestStop(running.member, reason: directive.reason ?? "lost and replaced", drain: false)
                    }
                    continue
                }
                // Issued before this slot's last process ended: the control plane has not seen the exit yet.
                if let ended = lastEnded[directive.slot], ended >= issued { continue }
                guard let (sitePlan, replica) = plan.replica(slot: directive.slot), sitePlan.name == site else { continue }
                launch(replica, of: sitePlan)
            case .stop:
                // Only an engine that speaks the native protocol drains (contributes its step, then leaves).
                if let member = directive.member {
                    requestStop(member, reason: directive.reason ?? "not wanted", drain: plan.membership == .native)
                }
            }
        }
        restartChanged(plan: plan, allowed: response.restartsAllowed ?? 0)
    }

    /// Replicas launched from a different replica plan than the current one's: a restart-class change.
    func changedReplicas(plan: Plan) -> [ReplicaRecord] {
        guard let sitePlan = plan.site(named: site) else { return [] }
        return state.replicas.filter { record in
            guard let replica = sitePlan.replicas.first(where: { $0.slot == record.slot }) else { return false }
            return replica.launchSignature != record.signature
        }
    }

    /// Relaunches changed replicas, as many at once as the control plane allows (it keeps the run above
    /// minReplicas and lets one site at a time relaunch); each new incarnation recovers from a donor.
    func restartChanged(plan: Plan, allowed: Int) {
        let stopping = state.replicas.filter { $0.stopRequestedAt != nil }.count
        for record in changedReplicas(plan: plan).filter({ $0.stopRequestedAt == nil }).prefix(max(0, allowed - stopping)) {
            requestStop(record.member, reason: "its launch changed in revision \(revision ?? 0)", drain: false)
        }
    }

    /// Fetches a revision's plan and renders its launch files into `revisions/<n>/`.
    func load(revision number: Int) async throws {
        let record = try await client.revision(of: config.run, number: number)
        var plan = try JSONDecoder().decode(Plan.self, from: Data(record.plan.utf8))
        let templates = try TemplateSet(directory: config.templates ?? TemplateSet.locate() ?? "templates")
        let files = try LaunchRenderer(templates: templates).render(&plan, onlySite: site)
        let directory = config.stateDirectory.appendingPathComponent("revisions/\(number)")
        try PlanWriter.write(plan, files: files, to: directory.path)
        self.plan = plan
        revision = number
        revisionDirectory = directory
        say("revision \(number) (\(plan.contentHash.prefix(12))): \(plan.site(named: site)?.replicas.count ?? 0) replicas for site \(site)")
        prune()
    }

    /// Removes rendered revisions that neither the current plan nor a running replica uses.
    func prune() {
        let root = config.stateDirectory.appendingPathComponent("revisions")
        let used = Set(state.replicas.map(\.revision) + [revision ?? -1])
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [] {
            if let number = Int(entry), !used.contains(number) { try? FileManager.default.removeItem(at: root.appendingPathComponent(entry)) }
        }
    }

    /// Starts a new incarnation of a slot with the site's launcher (its rendered `launch.sh`).
    func launch(_ replica: ReplicaPlan, of sitePlan: SitePlan) {
        guard let revision, let revisionDirectory else { return }
        let incarnation = (state.incarnations[replica.slot] ?? 0) + 1
        let member = UUID().uuidString.lowercased()
        let name = "\(site)-\(replica.index)"
        let log = config.stateDirectory.appendingPathComponent("logs/\(name).log").path
        let script = revisionDirectory.appendingPathComponent(replica.directory(site: site)).appendingPathComponent("launch.sh").path
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("INTERMESH_") }
        if let programs = config.programDirectory { environment["PATH"] = programs + ":" + (environment["PATH"] ?? "/usr/bin:/bin") }
        environment["INTERMESH_SERVER"] = config.server
        environment["INTERMESH_TOKEN_FILE"] = tokenFile.path
        // The engine reaches the control plane as its agent does: the same authority and client certificate.
        for (name, value) in [("INTERMESH_CA", config.tls.caFile), ("INTERMESH_CLIENT_CERT", config.tls.certificate),
                              ("INTERMESH_CLIENT_KEY", config.tls.key)] {
            if let value { environment[name] = value }
        }
        environment["INTERMESH_MEMBER_ID"] = member
        if let lighthouse = lighthouse(for: replica, launcher: sitePlan.launcher) { environment["INTERMESH_LIGHTHOUSE"] = lighthouse }
        environment["INTERMESH_INCARNATION"] = String(incarnation)
        environment["INTERMESH_RUN"] = config.run
        environment["INTERMESH_SITE"] = site
        environment["INTERMESH_SLOT"] = replica.slot
        environment["INTERMESH_REVISION"] = String(revision)
        environment["INTERMESH_AGENT_DIR"] = config.stateDirectory.path
        // A replica on this machine can tell whether its agent is alive (faultPolicy.orphanTimeout); elsewhere it
        // knows its agent only through the control plane.
        if ReplicaProcess.runsOnThisMachine(host: replica.host, launcher: sitePlan.launcher) {
            environment["INTERMESH_AGENT_PID"] = String(getpid())
        }
        if let plan { environment["INTERMESH_CHECKPOINT_DIR"] = config.checkpointDirectory(of: name, path: plan.run.spec.training.checkpoint.path).path }
        let banner = "=== \(Timestamps.format(Date())) incarnation \(incarnation) of \(replica.slot), member \(member), revision \(revision)\n"
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        if let handle = FileHandle(forWritingAtPath: log) {
            _ = try? handle.seekToEnd()
            try? handle.write(contentsOf: Data(banner.utf8))
            try? handle.close()
        }
        do {
            var pid: Int32 = 0
            var jobId: String?
            if sitePlan.launcher == .slurm {
                jobId = try SlurmJobs.submit(script: script, environment: environment, directory: config.workingDirectory.path, log: log)
            } else {
                pid = try ReplicaProcess.spawn("/bin/bash", [script], environment: environment, directory: config.workingDirectory.path, log: log)
                children.insert(pid)
            }
            let started = pid > 0 ? ReplicaProcess.ProcStat(pid: pid)?.startTime ?? 0 : 0
            state.incarnations[replica.slot] = incarnation
            var record = ReplicaRecord(slot: replica.slot, member: member, incarnation: incarnation, pid: pid, startTime: started,
                                       revision: revision, signature: replica.launchSignature, contentHash: plan?.contentHash, log: log,
                                       launchedAt: Date())
            record.jobId = jobId
            state.replicas.append(record)
            save()
            launched.append(LaunchReport(slot: replica.slot, member: member, incarnation: incarnation, pid: pid > 0 ? pid : nil))
            say("launched \(replica.slot) (incarnation \(incarnation), member \(member), " + (jobId.map { "Slurm job \($0)" } ?? "pid \(pid)") + ")")
        } catch {
            say("error: \(error)")
            exited.append(ExitReport(slot: replica.slot, member: member, code: 127, signal: nil, lastLines: ["\(error)"]))
            lastEnded[replica.slot] = Date()
        }
    }

    /// Asks a replica to go: a drain lets it contribute its current outer step (the control plane tells it in
    /// its heartbeats) before SIGTERM; otherwise SIGTERM now. SIGKILL follows if it lingers.
    func requestStop(_ member: String, reason: String, drain: Bool) {
        guard let position = state.replicas.firstIndex(where: { $0.member == member }), state.replicas[position].stopRequestedAt == nil else { return }
        let now = Date()
        state.replicas[position].stopRequestedAt = now
        state.replicas[position].stopReason = reason
        if !drain {
            signal(state.replicas[position], SIGTERM)
            state.replicas[position].terminatedAt = now
        }
        say("stopping \(state.replicas[position].slot) (member \(member)): \(reason)")
        save()
    }

    /// Stops every replica now (SIGTERM, then SIGKILL after the grace period) and waits for them.
    func stopAll(reason: String) async {
        for record in state.replicas { requestStop(record.member, reason: reason, drain: false) }
        let deadline = Date().addingTimeInterval(config.killGrace + 2)
        while !state.replicas.isEmpty, Date() < deadline {
            supervise()
            try? await Task.sleep(for: .milliseconds(100))
        }
        for record in state.replicas { signal(record, SIGKILL) }
        supervise()
        stopStrays()
        _ = try? await contact()
    }

    /// SIGTERM or SIGKILL to a replica: its process group, or its Slurm job.
    func signal(_ record: ReplicaRecord, _ signal: Int32) {
        if let job = record.jobId {
            SlurmJobs.signal(job, signal)
        } else {
            ReplicaProcess.signalGroup(record.pid, signal)
        }
    }
}
