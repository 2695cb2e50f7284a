import Foundation
import IntermeshAPI
import IntermeshClient
import TestServices

/// Two `intermesh serve` processes on one private PostgreSQL cluster and two members (one per site) stepping through
/// quorums over the native API, given both servers. The active server is killed with SIGKILL `rounds` times (the
/// killed one comes back as a standby each time): the figure is the time from the kill to the first quorum the new
/// active server answers, against the target of one lease time plus one heartbeat interval.
enum FailoverBench {
    static func run(rounds: Int, lease: Int, interval: Int) async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("bench-failover-\(UUID())")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let store = try BenchServe.Store.privatePostgres(in: data)
        let ports = [PostgresCluster.freePort(), PostgresCluster.freePort()]
        var servers: [BenchServe?] = [nil, nil]
        defer { for server in servers { server?.stop() } }
        func start(_ index: Int) async throws {
            servers[index] = try await BenchServe.start(data: data, store: store, name: "serve-\(index)", port: ports[index],
                                                        extra: ["--lease-time", "\(lease)s", "--lighthouse-port", "off"])
        }
        try await start(0)
        try await start(1)
        let list = ports.map { "http://127.0.0.1:\($0)" }.joined(separator: ",")
        let api = APIClient(server: list, token: servers[0]?.adminToken, environment: [:])
        _ = try await api.apply(spec: spec(interval: interval))
        let sites = ["a", "b"]
        var members: [APIClient] = []
        for site in sites {
            let token = try await api.createToken(TokenRequest(role: .agent, run: "failover", site: site)).token
            members.append(APIClient(server: list, token: token, environment: [:], timeout: .seconds(10)))
        }
        print("failover: 2 servers on one PostgreSQL store, lease \(lease) s, heartbeat interval \(interval) s, \(rounds) kills")
        let quorums = QuorumLog()
        let stepping = zip(members, sites).map { member, site in
            Task { try await step(member, site: site, interval: Double(interval), log: quorums) }
        }
        defer { for task in stepping { task.cancel() } }
        var figures: [Double] = []
        for round in 1...rounds {
            try await Task.sleep(for: .seconds(3))
            let info = try await api.serverInfo()
            guard let active = ports.firstIndex(where: { info.active == "http://127.0.0.1:\($0)" }), let process = servers[active]?.process else {
                throw BenchFailure(description: "no active server: \(info)")
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let killed = Date()
            let standby = "http://127.0.0.1:\(ports[1 - active])"
            let first = try await quorums.first(after: killed, from: standby, within: Double(lease) + 60)
            let seconds = first.timeIntervalSince(killed)
            figures.append(seconds)
            print(String(format: "  round %d: kill -9 to the first quorum answered by the new active server: %.2f s", round, seconds))
            try await start(active)
        }
        let sorted = figures.sorted()
        print(String(format: "failover: median %.2f s, max %.2f s (target: lease %d s + heartbeat interval %d s = %d s)",
                     sorted[sorted.count / 2], sorted.last ?? 0, lease, interval, lease + interval))
    }

    /// One member: heartbeats and a quorum per outer step, forever; each quorum answered is logged with its server.
    static func step(_ client: APIClient, site: String, interval: Double, log: QuorumLog) async throws {
        let slot = "\(site)/0", id = "bench-\(site)"
        var outerStep = 0
        while !Task.isCancelled {
            do {
                _ = try await client.heartbeat(run: "failover", site: site, HeartbeatBody(members: [MemberBeat(id: id, slot: slot, state: .training, outerStep: outerStep)]))
                let answer = try await client.quorum(run: "failover", site: site, QuorumRequest(step: outerStep + 1, slot: slot), timeout: .seconds(10))
                if answer.status == .formed {
                    outerStep += 1
                    await log.record(Date(), server: client.server)
                }
            } catch {
                try await Task.sleep(for: .milliseconds(100))
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    actor QuorumLog {
        var answers: [(Date, String)] = []

        func record(_ time: Date, server: String) { answers.append((time, server)) }

        func first(after: Date, from server: String, within seconds: Double) async throws -> Date {
            let deadline = after.addingTimeInterval(seconds)
            while Date() < deadline {
                if let found = answers.first(where: { $0.0 > after && $0.1 == server }) { return found.0 }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw BenchFailure(description: "no quorum answered by \(server) within \(seconds) s of the kill")
        }
    }

    static func spec(interval: Int) -> String {
        TinySpec.text(name: "failover", sites: ["a", "b"], replicas: 1,
                            faultPolicy: "heartbeatInterval: \(interval)s, heartbeatTimeout: \(interval * 5)s, minReplicas: 2, joinTimeout: 10s")
    }
}
