import AsyncHTTPClient
import Foundation
import IntermeshAPI
import IntermeshClient
import IntermeshTLS
import TestServices
import IntermeshControl
import IntermeshPlan
import IntermeshSpec

/// `intermesh-bench heartbeats`: hollow members in this process, batched per site, against a real
/// `intermesh serve` (SQLite) in another: sustained heartbeats/s, latency, reconciler pass time, and how
/// long killed members take to be reported lost.
enum HeartbeatBench {
    /// When a hollow site beats again: on its own grid (`BeatSchedule`, as members do), or an interval after each
    /// answer, which lets sites answered late in the registration burst fall into step (how members worked before).
    enum Schedule: String {
        case grid
        case afterAnswer = "after-answer"

        init(option: String?) throws {
            guard let schedule = Schedule(rawValue: option ?? "grid") else {
                throw BenchFailure(description: "--schedule must be grid or after-answer, not \(option ?? "")")
            }
            self = schedule
        }
    }

    static func run(sites: Int, replicas: Int, interval: Double, duration: Double, killSites: Int, schedule: Schedule,
                    samples: String?, tls: Bool = false, postgres: Bool = false) async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("bench-serve-\(UUID())")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: data) }
        // Over TLS: a private authority and a certificate for 127.0.0.1, as `intermesh ca` makes them.
        let authority = data.appendingPathComponent("ca")
        var extra: [String] = []
        if tls {
            try CertificateAuthority.create(in: authority).issue(name: "server", hosts: ["127.0.0.1"], in: authority)
            extra += ["--tls-cert", authority.appendingPathComponent("server.pem").path, "--tls-key", authority.appendingPathComponent("server.key").path]
        }
        let scheme = tls ? "https" : "http"
        // On PostgreSQL: a fresh database of a private cluster.
        let serve = try await BenchServe.start(data: data, store: postgres ? try .privatePostgres(in: data) : .sqlite, extra: extra)
        let server = serve.process, port = serve.port, admin = serve.adminToken
        defer { serve.stop() }

        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        if tls { configuration.tlsConfiguration = try ClientTLS(caFile: authority.appendingPathComponent("ca.pem").path).configuration() }
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let base = "\(scheme)://127.0.0.1:\(port)"
        let api = APIClient(server: base, token: admin, environment: [:], timeout: .seconds(600), http: http)

        let spec = specText(sites: sites, replicas: replicas, interval: interval)
        var start = ContinuousClock.now
        let applied = try await api.apply(spec: spec)
        print("apply of \(sites) sites x \(replicas) replicas: \(ms(ContinuousClock.now - start)) ms (revision \(applied.revision))")

        start = ContinuousClock.now
        let tokens = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            var out = [String](repeating: "", count: sites)
            var next = 0
            for _ in 0..<min(32, sites) {
                let index = next
                next += 1
                group.addTask { (index, try await api.createToken(TokenRequest(role: .agent, run: "bench", site: "s\(index)")).token) }
            }
            while let (index, token) = try await group.next() {
                out[index] = token
                if next < sites {
                    let index = next
                    next += 1
                    group.addTask { (index, try await api.createToken(TokenRequest(role: .agent, run: "bench", site: "s\(index)")).token) }
                }
            }
            return out
        }
        print("\(sites) agent tokens: \(ms(ContinuousClock.now - start)) ms")

        // The first round registers 100,000 members (written to the store); the steady state is measured from
        // three intervals after every site's registration was answered (requests queued behind the burst take
        // about 3 s to drain), for `duration` seconds.
        let recorder = Recorder(sites: sites, interval: interval, duration: duration)
        let serverCPU = ProcessCPU(pid: server.processIdentifier), benchCPU = ProcessCPU(pid: getpid())
        let samplers = [Task { await serverCPU.run() }, Task { await benchCPU.run() }]
        // The server's own figures at both ends of the window, from its metrics.
        let scrapes = Task { () async throws -> (MetricsScrape, MetricsScrape) in
            var registeredAt = await recorder.registeredAt
            while registeredAt == nil {
                try await Task.sleep(for: .milliseconds(100))
                registeredAt = await recorder.registeredAt
            }
            let start = registeredAt!.addingTimeInterval(Recorder.settle * interval)
            try await Task.sleep(for: .seconds(max(0, start.timeIntervalSinceNow)))
            let first = try await MetricsScrape.take(api)
            try await Task.sleep(for: .seconds(max(0, start.addingTimeInterval(duration).timeIntervalSinceNow)))
            return (first, try await MetricsScrape.take(api))
        }
        let began = Date()
        // Encoded once: the loop measures the server, not this process's encoder.
        let bodies = try (0..<sites).map { site in
            try WireCoding.encoder.encode(HeartbeatBody(members: (0..<replicas).map { index in
                MemberBeat(id: "m-\(site)-\(index)", slot: "s\(site)/\(index)", state: .training, outerStep: 1)
            }))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for site in 0..<sites {
                group.addTask {
                    let client = APIClient(server: base, token: tokens[site], environment: [:], timeout: .seconds(30), http: http)
                    // Spread the sites over the interval, as independent agents would be, and keep each on its own grid
                    // (as members do, see BeatSchedule): sites answered late in the registration burst do not bunch up.
                    let grid = BeatSchedule(anchor: began.addingTimeInterval(interval * Double(site) / Double(sites)), interval: interval)
                    try await Task.sleep(for: .milliseconds(Int(interval * 1000 * Double(site) / Double(sites))))
                    let killed = site < killSites
                    while Date() < (await recorder.stopAt(killed: killed)) {
                        guard Date().timeIntervalSince(began) < 600 else { throw BenchFailure(description: "registration did not finish in 600 s") }
                        let sent = Date()
                        let began = ContinuousClock.now
                        do {
                            _ = try await client.send(.POST, Endpoint.site("bench", "s\(site)", .heartbeats), body: bodies[site])
                            await recorder.record(site: site, at: sent, latency: ContinuousClock.now - began, members: replicas)
                        } catch {
                            await recorder.fail(error)
                        }
                        let next = schedule == .grid ? grid.next(after: sent) : Date().addingTimeInterval(interval)
                        let wait = next.timeIntervalSinceNow
                        if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
                    }
                }
            }
            try await group.waitForAll()
        }
        samplers.forEach { $0.cancel() }
        guard let registeredAt = await recorder.registeredAt else { throw BenchFailure(description: "registration did not finish") }
        let measureFrom = registeredAt.addingTimeInterval(Recorder.settle * interval)
        let killAt = measureFrom.addingTimeInterval(duration)
        let registration = await recorder.window(from: .distantPast, to: registeredAt)
        print(String(format: "registration of %d members: %.1f s until every site's first heartbeat was answered; latency p50 %.1f ms, p99 %.1f ms",
                     sites * replicas, registeredAt.timeIntervalSince(began), registration.p50, registration.p99))
        if let server = await serverCPU.cores(from: began, to: registeredAt) {
            print(String(format: "CPU during registration: server %.2f cores", server))
        }
        let measured = await recorder.window(from: measureFrom, to: killAt)
        if let samples {
            // One line per request: when it was sent (seconds from the start of the window) and its latency (ms).
            let lines = await recorder.samples.map { String(format: "%.4f %.2f", $0.at.timeIntervalSince(measureFrom), $0.latency) }
            try (lines.joined(separator: "\n") + "\n").write(toFile: samples, atomically: true, encoding: .utf8)
        }
        print(String(format: "sustained: %.0f member-heartbeats/s over %.0f s (%d requests of %d members; %d failed in the whole run)",
                     measured.rate, duration, measured.requests, replicas, measured.failures))
        if let failure = await recorder.firstFailure { print("first failure: \(failure)") }
        print(String(format: "heartbeat latency: p50 %.1f ms, p99 %.1f ms, max %.1f ms", measured.p50, measured.p99, measured.max))
        var slices: [String] = []
        for slice in stride(from: 0.0, to: duration, by: 5) {
            let figures = await recorder.window(from: measureFrom.addingTimeInterval(slice), to: measureFrom.addingTimeInterval(min(duration, slice + 5)))
            slices.append(String(format: "%.0f", figures.p99))
        }
        print("p99 per 5 s of the window (ms): " + slices.joined(separator: ", "))
        print("requests per tenth of the interval, busiest / quietest: " + (await recorder.spread(from: measureFrom, to: killAt)))
        let (first, last) = try await scrapes.value
        let handled = MetricsScrape.histogram("http_server_request_duration", matching: "/heartbeats\"", from: first, to: last, quantile: 0.99)
        print(String(format: "server side (its metrics): %.0f heartbeat requests handled, mean %.2f ms, 99%% within %@",
                     handled.count, handled.mean * 1000, handled.bound.map { String(format: "%.1f ms", $0 * 1000) } ?? "?"))
        let full = MetricsScrape.histogram("intermesh_reconcile_pass_seconds", matching: "kind=\"full\"", from: first, to: last, quantile: 1)
        let check = MetricsScrape.histogram("intermesh_reconcile_pass_seconds", matching: "kind=\"check\"", from: first, to: last, quantile: 1)
        print(String(format: "reconcile passes in the window (server's metrics): %.0f full, mean %.1f ms; %.0f checks, mean %.3f ms",
                     full.count, full.mean * 1000, check.count, check.mean * 1000))
        if let server = await serverCPU.cores(from: measureFrom, to: killAt), let bench = await benchCPU.cores(from: measureFrom, to: killAt) {
            print(String(format: "CPU in the window: server %.2f cores (%.2f ms per request), hollow agents %.2f cores",
                         server, server * duration * 1000 / Double(max(1, measured.requests)), bench))
        }

        // Detection: when the server reported each killed member lost, after its last heartbeat.
        let lastBeats = await recorder.lastBeats
        var lost: [String: Date] = [:]
        var after: Int64 = 0
        while true {
            let events = try await api.events(of: "bench", after: after)
            if events.isEmpty { break }
            for event in events {
                after = event.id
                guard event.message.contains(" lost") else { continue }
                let id = event.message.split(separator: " ")[1]
                lost[String(id)] = event.time
            }
        }
        let latencies = (0..<killSites).flatMap { site in (0..<replicas).compactMap { index -> Double? in
            guard let beat = lastBeats[site], let seen = lost["m-\(site)-\(index)"] else { return nil }
            return seen.timeIntervalSince(beat)
        } }
        let timeout = 10.0
        if latencies.isEmpty {
            print("detection: no killed member was reported lost")
        } else {
            print(String(format: "detection of %d killed members: all within %.2f s of their last heartbeat (timeout %.0f s; %d of %d reported)",
                         latencies.count, latencies.max()!, timeout, latencies.count, killSites * replicas))
        }
        reconcilerPass(sites: sites, replicas: replicas, interval: interval)
        try await http.shutdown()
    }

    /// The reconciler's pure pass over a run of this shape, every member live.
    static func reconcilerPass(sites: Int, replicas: Int, interval: Double) {
        let run = SpecLoader().load(name: "bench.yaml", text: specText(sites: sites, replicas: replicas, interval: interval)).validRun!
        let plan = Planner.compile(run)
        let now = Date()
        let members = plan.sites.flatMap { site in site.replicas.map {
            MemberRecord(id: "m-\($0.slot)", site: site.name, slot: $0.slot, lastHeartbeat: now)
        } }
        let start = ContinuousClock.now
        let result = Reconciler.reconcile(ReconcileInput(generation: 1, plan: plan, members: members, now: now))
        print("reconciler pass (pure compute) over \(members.count) members: \(ms(ContinuousClock.now - start)) ms, \(result.actions.count) actions")
    }

    static func specText(sites: Int, replicas: Int, interval: Double) -> String {
        var text = """
        apiVersion: intermesh/v1
        kind: TrainingRun
        metadata: {name: bench}
        spec:
          model: {kind: mlp, layers: 1, hiddenSize: 8, vocabSize: 256, sequenceLength: 8}
          data: {mix: [{name: prose, path: data/prose.txt, weight: 1}]}
          faultPolicy: {heartbeatInterval: \(Int(interval * 1000))ms, heartbeatTimeout: 10s, minReplicas: 1}
          sites:

        """
        for site in 0..<sites { text += "    - {name: s\(site), replicas: \(replicas), launcher: {kind: slurm}}\n" }
        return text
    }

    static func ms(_ duration: Duration) -> String {
        String(format: "%.1f", Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15)
    }
}

actor Recorder {
    let sites: Int
    let interval: Double
    let duration: Double
    var samples: [(at: Date, latency: Double, members: Int)] = []
    var failures = 0
    var lastBeats: [Int: Date] = [:]
    /// When the last site's first heartbeat (its registration) was answered.
    var registeredAt: Date?
    /// Heartbeat intervals between the end of registration and the start of the measured window.
    static let settle = 3.0

    init(sites: Int, interval: Double, duration: Double) {
        self.sites = sites
        self.interval = interval
        self.duration = duration
    }

    func record(site: Int, at: Date, latency: Duration, members: Int) {
        samples.append((at, Double(latency.components.seconds) * 1000 + Double(latency.components.attoseconds) / 1e15, members))
        lastBeats[site] = at
        if registeredAt == nil, lastBeats.count == sites { registeredAt = Date() }
    }

    /// Killed sites stop beating at the end of the window; the others go on 20 s longer for the detection figure.
    func stopAt(killed: Bool) -> Date {
        guard let registeredAt else { return .distantFuture }
        return registeredAt.addingTimeInterval(Self.settle * interval + duration + (killed ? 0 : 20))
    }

    var firstFailure: String?

    func fail(_ error: Error) {
        failures += 1
        if firstFailure == nil { firstFailure = "\(error)" }
    }

    /// How evenly the requests of [from, to) fall over the interval: the most and fewest sent in one tenth of it.
    /// Independent sites give about equal counts; sites in step give bursts far above the average rate.
    func spread(from: Date, to: Date) -> String {
        var counts = [Int](repeating: 0, count: 10)
        for sample in samples where sample.at >= from && sample.at < to {
            let phase = sample.at.timeIntervalSince(from).truncatingRemainder(dividingBy: interval) / interval
            counts[min(9, Int(phase * 10))] += 1
        }
        return "\(counts.max() ?? 0) / \(counts.min() ?? 0)"
    }

    /// Figures of the requests sent in [from, to).
    func window(from: Date, to: Date) -> (rate: Double, requests: Int, failures: Int, p50: Double, p99: Double, max: Double) {
        let inside = samples.filter { $0.at >= from && $0.at < to }
        let latencies = inside.map(\.latency).sorted()
        let first = inside.map(\.at).min() ?? from
        let span = max(1, to.timeIntervalSince(max(from, first)))
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        return (Double(inside.reduce(0) { $0 + $1.members }) / span, inside.count, failures, percentile(0.5), percentile(0.99), latencies.last ?? 0)
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
}
