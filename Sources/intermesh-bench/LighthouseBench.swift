import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import IntermeshAPI
import IntermeshClient
import IntermeshLighthouse

/// `intermesh-bench lighthouse`: one load generator speaking torchft's Lighthouse protocol (gRPC), run side by side
/// against torchft's own Lighthouse (`torchft_lighthouse` from the wheel) and against `intermesh serve` on this
/// machine, with the same quorum rules (min replicas 1, join timeout 2 s, heartbeat timeout 5 s, tick 100 ms):
/// quorum formation latency for 2 to 1,000 replica groups, heartbeat throughput and latency for 1,000 and 10,000,
/// and how long a silent group takes to be left out of a quorum.
enum LighthouseBench {
    struct Target {
        var name: String
        var pid: Int32
        var address: (host: String, port: Int)
        /// The replica id of group `index` of a run sized for `groups` (torchft takes any string; Intermesh the plan's).
        var replicaId: @Sendable (_ groups: Int, _ index: Int) -> String
    }

    static func run(quorumSizes: [Int], heartbeatSizes: [Int], duration: Double, torchftLighthouse: String) async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("bench-lighthouse-\(UUID())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }

        let torchftPort = try freePort()
        let torchft = try start(torchftLighthouse, ["--min_replicas", "1", "--quorum_tick_ms", "100", "--join_timeout_ms", "2000",
                                                   "--heartbeat_timeout_ms", "5000", "--bind", "127.0.0.1:\(torchftPort)"],
                                log: work.appendingPathComponent("torchft.log"), environment: [:])
        // torchft_lighthouse does not stop on SIGTERM.
        defer { kill(torchft.processIdentifier, SIGKILL); torchft.waitUntilExit() }
        for _ in 0..<300 where !((try? String(contentsOf: work.appendingPathComponent("torchft.log"), encoding: .utf8)) ?? "").contains("listening on") {
            try await Task.sleep(for: .milliseconds(100))
        }

        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("intermesh").path
        let serveLog = work.appendingPathComponent("serve.log")
        let serve = try start(binary, ["serve", "--data", work.appendingPathComponent("store").path, "--listen", "127.0.0.1:0",
                                       "--lighthouse-port", "0", "--admin-token-file", work.appendingPathComponent("admin").path], log: serveLog)
        defer { serve.terminate(); serve.waitUntilExit() }
        var api = "", lighthousePort = 0
        for _ in 0..<300 where lighthousePort == 0 {
            try await Task.sleep(for: .milliseconds(100))
            let text = (try? String(contentsOf: serveLog, encoding: .utf8)) ?? ""
            if let match = text.firstMatch(of: /listening on (http:\/\/127\.0\.0\.1:\d+), Lighthouse \(torchft\) on 127\.0\.0\.1:(\d+)/) {
                api = String(match.1)
                lighthousePort = Int(match.2) ?? 0
            }
        }
        guard lighthousePort > 0 else { throw BenchFailure(description: "intermesh serve did not start; see \(serveLog.path)") }
        let floorLog = work.appendingPathComponent("floor.log")
        let floor = try start(CommandLine.arguments[0], ["lighthouse-floor"], log: floorLog)
        defer { floor.terminate(); floor.waitUntilExit() }
        var floorPort = 0
        for _ in 0..<300 where floorPort == 0 {
            try await Task.sleep(for: .milliseconds(100))
            let text = (try? String(contentsOf: floorLog, encoding: .utf8)) ?? ""
            floorPort = text.firstMatch(of: /listening on 127\.0\.0\.1:(\d+)/).flatMap { Int($0.1) } ?? 0
        }
        guard floorPort > 0 else { throw BenchFailure(description: "the floor server did not start; see \(floorLog.path)") }
        let admin = try String(contentsOf: work.appendingPathComponent("admin"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let client = APIClient(server: api, token: admin, environment: [:], timeout: .seconds(600))
        for groups in Set(quorumSizes + heartbeatSizes + [12]) {
            _ = try await client.apply(spec: spec(groups: groups))
        }
        say("runs applied: one torchft run per size (\(Set(quorumSizes + heartbeatSizes + [12]).sorted().map(String.init).joined(separator: ", ")) replica groups), SQLite store")

        let targets = [
            Target(name: "torchft_lighthouse", pid: torchft.processIdentifier, address: ("127.0.0.1", torchftPort), replicaId: { groups, index in "g\(groups)-\(index)" }),
            Target(name: "intermesh serve", pid: serve.processIdentifier, address: ("127.0.0.1", lighthousePort), replicaId: { groups, index in
                let site = index / 100
                return "lh\(groups)/s\(site)/\(index % 100)/m-\(groups)-\(index)/\(index)"
            }),
        ]
        say("\nfailure detection: 12 groups in quorums round after round; one stops (no heartbeat, no quorum request)")
        for target in targets {
            do {
                let seconds = try await detection(target, groups: 12)
                say("  \(target.name): left out of the quorum \(String(format: "%.2f", seconds)) s after its last heartbeat")
            } catch {
                say("  \(target.name): failed: \(error)")
            }
        }
        say("\nquorum formation: every group heartbeats, then all ask at once, round after round (latency of each Quorum call;")
        say("two warm-up rounds left out; 'short': answers with fewer than every group)")
        say(pad("groups", 8) + targets.map { pad($0.name + " p50 / p99 ms", 34) }.joined())
        for groups in quorumSizes {
            var row = pad("\(groups)", 8)
            for target in targets {
                do {
                    let (latencies, partial) = try await quorumRounds(target, groups: groups, rounds: groups >= 1000 ? 5 : groups >= 128 ? 10 : 20)
                    row += pad(String(format: "%.1f / %.1f", percentile(latencies, 0.5), percentile(latencies, 0.99))
                               + (partial > 0 ? " (\(partial) short)" : ""), 34)
                } catch {
                    row += pad("failed: \(error)", 34)
                }
            }
            say(row)
        }
        say("\nheartbeats: 64 concurrent callers over every group's id for \(Int(duration)) s (after one pass that registers them);")
        say("CPU per heartbeat of the server / of this load generator, in microseconds. 'empty handlers': torchft's service with")
        say("handlers that do nothing, on the gRPC server and transport intermesh serve uses (what the transport alone costs)")
        let floorTarget = Target(name: "empty handlers", pid: floor.processIdentifier, address: ("127.0.0.1", floorPort), replicaId: targets[0].replicaId)
        say(pad("groups", 8) + (targets + [floorTarget]).map { pad($0.name + " beats/s, p99 ms, CPU us", 44) }.joined())
        for groups in heartbeatSizes {
            var row = pad("\(groups)", 8)
            for target in targets + [floorTarget] {
                do {
                    let result = try await heartbeats(target, groups: groups, duration: duration)
                    let beats = Double(result.latencies.count)
                    row += pad(String(format: "%.0f, %.1f, %.0f / %.0f", result.rate, percentile(result.latencies, 0.99),
                                      result.serverCPU / beats * 1e6, result.clientCPU / beats * 1e6), 44)
                } catch {
                    row += pad("failed: \(error)", 44)
                }
            }
            say(row)
        }
    }

    static func spec(groups: Int) -> String {
        var text = """
        apiVersion: intermesh/v1
        kind: TrainingRun
        metadata: {name: lh\(groups)}
        spec:
          engine: {kind: torchft, entrypoint: train.py}
          model: {kind: mlp, layers: 1, hiddenSize: 8, vocabSize: 256, sequenceLength: 8}
          data: {mix: [{name: prose, path: data/prose.txt, weight: 1}]}
          faultPolicy: {heartbeatInterval: 1s, heartbeatTimeout: 5s, minReplicas: 1, joinTimeout: 2s, quorumTick: 100ms}
          sites:

        """
        var left = groups, site = 0
        while left > 0 {
            text += "    - {name: s\(site), replicas: \(min(100, left)), launcher: {kind: slurm}}\n"
            left -= min(100, left)
            site += 1
        }
        return text
    }

    /// Clients over several HTTP/2 connections, so a thousand concurrent calls do not queue behind one connection's
    /// stream limit; `body` gets the client for a caller index.
    static func withClients<T: Sendable>(_ target: Target, count: Int = 8,
                                         _ body: @Sendable ([Torchft_LighthouseService.Client<HTTP2ClientTransport.Posix>]) async throws -> T) async throws -> T {
        var grpcs: [GRPCClient<HTTP2ClientTransport.Posix>] = []
        for _ in 0..<count {
            grpcs.append(GRPCClient(transport: try .http2NIOPosix(target: .ipv4(address: target.address.host, port: target.address.port),
                                                                  transportSecurity: .plaintext)))
        }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            for grpc in grpcs { group.addTask { try await grpc.runConnections(); return nil } }
            defer { for grpc in grpcs { grpc.beginGracefulShutdown() } }
            let result = try await body(grpcs.map { Torchft_LighthouseService.Client(wrapping: $0) })
            return result
        }
    }

    static func member(_ target: Target, groups: Int, index: Int, step: Int) -> Torchft_LighthouseQuorumRequest {
        var member = Torchft_QuorumMember()
        member.replicaID = target.replicaId(groups, index) + ":bench"
        member.address = "http://127.0.0.1:\(20000 + index % 40000)"
        member.storeAddress = "127.0.0.1:29500"
        member.step = Int64(step)
        member.worldSize = 1
        var request = Torchft_LighthouseQuorumRequest()
        request.requester = member
        return request
    }

    /// Heartbeats every group every `interval` until cancelled, as their ManagerServers would (torchft's Lighthouse
    /// waits for every heartbeating group, and counts only those toward its majority).
    static func keepBeating(_ target: Target, groups: Int, clients: [Torchft_LighthouseService.Client<HTTP2ClientTransport.Posix>],
                            interval: Duration, except: @escaping @Sendable () async -> Int? = { nil }) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                let skip = await except()
                await withTaskGroup(of: Void.self) { group in
                    for caller in 0..<min(32, groups) {
                        group.addTask {
                            for index in stride(from: caller, to: groups, by: min(32, groups)) where index != skip {
                                var request = Torchft_LighthouseHeartbeatRequest()
                                request.replicaID = target.replicaId(groups, index) + ":bench"
                                _ = try? await clients[index % clients.count].heartbeat(request: .init(message: request), options: callOptions(5))
                            }
                        }
                    }
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// Latencies of every Quorum call after two warm-up rounds, and how many answers held fewer than every group.
    static func quorumRounds(_ target: Target, groups: Int, rounds: Int) async throws -> (latencies: [Double], partial: Int) {
        // At most 50 calls in flight per connection: below the servers' stream limits, so no call queues for a stream.
        try await withClients(target, count: max(8, groups / 50)) { clients in
            // Every group heartbeats before it asks, as a training process's ManagerServer does from its start.
            try await beatOnce(target, groups: groups, clients: clients)
            let beats = keepBeating(target, groups: groups, clients: clients, interval: .seconds(1))
            defer { beats.cancel() }
            var latencies: [Double] = []
            var partial = 0
            for round in 0..<(rounds + 2) {
                let samples = try await withThrowingTaskGroup(of: (Double, Int).self) { group in
                    for index in 0..<groups {
                        let client = clients[index % clients.count]
                        group.addTask {
                            let start = ContinuousClock.now
                            let answer = try await client.quorum(request: .init(message: member(target, groups: groups, index: index, step: round)),
                                                                 options: callOptions(60))
                            return (milliseconds(ContinuousClock.now - start), answer.quorum.participants.count)
                        }
                    }
                    return try await group.reduce(into: [(Double, Int)]()) { $0.append($1) }
                }
                // The first rounds register the groups and settle who is in: not the steady state.
                guard round >= 2 else { continue }
                latencies += samples.map(\.0)
                partial += samples.filter { $0.1 < groups }.count
            }
            return (latencies, partial)
        }
    }

    static func beatOnce(_ target: Target, groups: Int, clients: [Torchft_LighthouseService.Client<HTTP2ClientTransport.Posix>]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<min(64, groups) {
                group.addTask {
                    for index in stride(from: caller, to: groups, by: min(64, groups)) {
                        var request = Torchft_LighthouseHeartbeatRequest()
                        request.replicaID = target.replicaId(groups, index) + ":bench"
                        _ = try await clients[index % clients.count].heartbeat(request: .init(message: request), options: callOptions(30))
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    static func heartbeats(_ target: Target, groups: Int, duration: Double) async throws
        -> (rate: Double, latencies: [Double], serverCPU: Double, clientCPU: Double) {
        try await withClients(target) { clients in
            let callers = 64
            func beat(_ index: Int, _ client: Torchft_LighthouseService.Client<HTTP2ClientTransport.Posix>) async throws -> Double {
                var request = Torchft_LighthouseHeartbeatRequest()
                request.replicaID = target.replicaId(groups, index) + ":bench"
                let start = ContinuousClock.now
                _ = try await client.heartbeat(request: .init(message: request), options: callOptions(30))
                return milliseconds(ContinuousClock.now - start)
            }
            // Registration pass: every id once.
            try await beatOnce(target, groups: groups, clients: clients)
            let cpu = (server: ProcessCPU.seconds(of: target.pid) ?? 0, client: ProcessCPU.seconds(of: getpid()) ?? 0)
            let end = ContinuousClock.now + .milliseconds(Int(duration * 1000))
            let all = try await withThrowingTaskGroup(of: [Double].self) { group in
                for caller in 0..<callers {
                    group.addTask {
                        var samples: [Double] = []
                        var index = caller
                        while ContinuousClock.now < end {
                            samples.append(try await beat(index % groups, clients[caller % clients.count]))
                            index += callers
                        }
                        return samples
                    }
                }
                return try await group.reduce(into: [Double]()) { $0 += $1 }
            }
            return (Double(all.count) / duration, all, (ProcessCPU.seconds(of: target.pid) ?? 0) - cpu.server,
                    (ProcessCPU.seconds(of: getpid()) ?? 0) - cpu.client)
        }
    }

    static func detection(_ target: Target, groups: Int) async throws -> Double {
        try await withClients(target) { clients in
            let silent = groups - 1
            let stopped = Clock()
            // Heartbeats every 100 ms, as torchft's ManagerServer sends them; the silent group's stop at `stopped`.
            let beats = keepBeating(target, groups: groups, clients: clients, interval: .milliseconds(100)) {
                await stopped.isSet ? silent : nil
            }
            defer { beats.cancel() }
            try await beatOnce(target, groups: groups, clients: clients)
            var round = 1000
            func ask(_ members: Range<Int>) async throws -> Int {
                let step = round
                return try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in members {
                        group.addTask {
                            try await clients[index % clients.count].quorum(request: .init(message: member(target, groups: groups, index: index, step: step)),
                                                                           options: callOptions(60)).quorum.participants.count
                        }
                    }
                    return try await group.reduce(into: Int.max) { $0 = min($0, $1) }
                }
            }
            for _ in 0..<3 {
                _ = try await ask(0..<groups)
                round += 1
            }
            await stopped.set()
            let start = ContinuousClock.now
            while try await ask(0..<(groups - 1)) == groups {
                round += 1
            }
            return milliseconds(ContinuousClock.now - start) / 1000
        }
    }

    actor Clock {
        var isSet = false
        func set() { isSet = true }
    }

    static func callOptions(_ seconds: Int) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = .seconds(seconds)
        return options
    }

    static func start(_ executable: String, _ arguments: [String], log: URL, environment: [String: String] = [:]) throws -> Process {
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = process.standardOutput
        try process.run()
        return process
    }

    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw BenchFailure(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }

    /// Unbuffered: figures show as they are measured, also when the output is a file.
    static func say(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
