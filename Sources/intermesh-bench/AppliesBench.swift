import Foundation
import IntermeshAPI
import IntermeshClient
import TestServices

/// Apply throughput of `intermesh serve` on SQLite and on PostgreSQL, side by side: `count` new runs applied one at a
/// time (latency), then `count` more from `clients` concurrent clients (throughput). Each apply validates and compiles
/// the spec, and writes the revision with its rollout state and events in one transaction.
enum AppliesBench {
    static func run(count: Int, clients: Int) async throws {
        print("applies: \(count) new runs one at a time, then \(count) from \(clients) concurrent clients (a 2-site spec each)")
        for postgres in [false, true] {
            let data = FileManager.default.temporaryDirectory.appendingPathComponent("bench-applies-\(UUID())")
            defer { try? FileManager.default.removeItem(at: data) }
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            let store: BenchServe.Store = postgres ? try .privatePostgres(in: data) : .sqlite
            let serve = try await BenchServe.start(data: data, store: store, extra: ["--lighthouse-port", "off", "--token-rate", "0"])
            defer { serve.stop() }
            let api = APIClient(server: "http://127.0.0.1:\(serve.port)", token: serve.adminToken, environment: [:])

            var latencies: [Double] = []
            var started = ContinuousClock.now
            for index in 0..<count {
                let before = ContinuousClock.now
                _ = try await api.apply(spec: spec(name: "one-\(index)"))
                latencies.append(TrainerBench.seconds(ContinuousClock.now - before))
            }
            let sequential = Double(count) / TrainerBench.seconds(ContinuousClock.now - started)
            latencies.sort()

            started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<clients {
                    group.addTask {
                        for index in stride(from: client, to: count, by: clients) { _ = try await api.apply(spec: spec(name: "many-\(index)")) }
                    }
                }
                try await group.waitForAll()
            }
            let concurrent = Double(count) / TrainerBench.seconds(ContinuousClock.now - started)
            print(String(format: "  %@: one at a time %.0f applies/s (p50 %.1f ms, p99 %.1f ms); %d clients %.0f applies/s", store.name, sequential,
                         latencies[latencies.count / 2] * 1000, latencies[min(latencies.count - 1, latencies.count * 99 / 100)] * 1000, clients, concurrent))
        }
    }

    static func spec(name: String) -> String {
        TinySpec.text(name: name, sites: ["a", "b"], replicas: 2)
    }
}
