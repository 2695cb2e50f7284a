import Foundation
import IntermeshAPI
import IntermeshClient

/// `intermesh-bench rollouts`: a real `intermesh up specs/local.yaml`, then hot changes applied one after
/// another (outer lr back and forth). For each: apply -> every member acknowledged, apply -> every member
/// training with it (both from the control plane's rollout record), and the activation-step skew between
/// replicas, read from the replicas' own logs (the outer step at which each first trained with it).
enum RolloutBench {
    static func run(applies: Int, spec: String) async throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("intermesh").path
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("bench-rollouts-\(UUID())")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        var finished = false
        // A failed run keeps its data directory (logs, store) for a look.
        defer { if finished { try? FileManager.default.removeItem(at: data) } else { print("data kept in \(data.path)") } }
        let log = data.appendingPathComponent("up.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let port = 7790
        let up = Process()
        up.executableURL = URL(fileURLWithPath: binary)
        up.arguments = ["up", spec, "--data", data.appendingPathComponent("run").path, "--listen", "127.0.0.1:\(port)"]
        up.standardOutput = try FileHandle(forWritingTo: log)
        up.standardError = up.standardOutput
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("INTERMESH_") }
        environment["NO_COLOR"] = "1"
        up.environment = environment
        try up.run()
        defer {
            kill(up.processIdentifier, SIGINT)
            up.waitUntilExit()
        }
        let tokenFile = data.appendingPathComponent("run/admin.token")
        var token = ""
        for _ in 0..<600 where token.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            token = ((try? String(contentsOf: tokenFile, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard !token.isEmpty else { throw BenchFailure(description: "intermesh up did not start; see \(log.path)") }
        let api = APIClient(server: "http://127.0.0.1:\(port)", token: token, environment: [:])
        let original = try String(contentsOfFile: spec, encoding: .utf8)
        guard original.contains("lr: 0.7") else { throw BenchFailure(description: "\(spec) has no outer lr of 0.7 to change") }
        let run = try runName(original)
        try await waitFor("3 members at outer step 2", timeout: 180) {
            let members = try await api.members(of: run)
            return members.filter { $0.outerStep >= 2 }.count >= 3
        }
        print("rollouts of a hot change (outer lr) on \(spec), \(applies) applies")
        print("apply -> all acknowledged (s) | apply -> all active (s) | activation step | replicas | step skew | steps retrained")
        var acks: [Double] = [], actives: [Double] = [], skews: [Int] = []
        for index in 0..<applies {
            let text = original.replacingOccurrences(of: "lr: 0.7", with: index % 2 == 0 ? "lr: 0.6" : "lr: 0.7")
            let applied = try await api.apply(spec: text)
            var status: RolloutStatus?
            try await waitFor("revision \(applied.revision) complete", timeout: 300) {
                status = try await api.rolloutStatus(of: run)
                return status?.rollout?.revision == applied.revision && status?.rollout?.phase == .complete
            }
            guard let rollout = status?.rollout, let acked = rollout.acknowledgedAt, let active = rollout.activatedAt,
                  let step = rollout.activationStep else { throw BenchFailure(description: "rollout record incomplete") }
            // The replicas' logs: the first outer step each trained with the revision.
            var firsts: [Int] = []
            try await waitFor("every replica logged revision \(applied.revision)", timeout: 120) {
                firsts = firstSteps(data: data.appendingPathComponent("run/agents"), revision: applied.revision)
                return firsts.count >= 3
            }
            let skew = (firsts.max() ?? 0) - (firsts.min() ?? 0)
            acks.append(acked.timeIntervalSince(rollout.startedAt))
            actives.append(active.timeIntervalSince(rollout.startedAt))
            skews.append(skew)
            let retrained = count(event: "stale_revision", revision: applied.revision, data: data.appendingPathComponent("run/agents"))
            print(String(format: "%29.2f | %22.2f | %15d | %8d | %9d | %d", acks.last!, actives.last!, step, firsts.count, skew, retrained))
        }
        finished = true
        let sortedAcks = acks.sorted(), sortedActives = actives.sorted()
        print(String(format: "median: acknowledged %.2f s, active %.2f s; max: %.2f s, %.2f s; activation-step skew max %d",
                     sortedAcks[sortedAcks.count / 2], sortedActives[sortedActives.count / 2], sortedAcks.last!, sortedActives.last!, skews.max() ?? 0))
    }

    static func runName(_ text: String) throws -> String {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("  name: ") }) else { throw BenchFailure(description: "no metadata.name") }
        return String(line.dropFirst("  name: ".count)).trimmingCharacters(in: .whitespaces)
    }

    static func replicaLogs(_ data: URL) -> [URL] {
        FileManager.default.enumerator(at: data, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL }
            .filter { $0.pathExtension == "log" && $0.deletingLastPathComponent().lastPathComponent == "logs" } ?? []
    }

    /// Steps replicas trained again because they heard of `revision` too late.
    static func count(event: String, revision: Int, data: URL) -> Int {
        replicaLogs(data).reduce(0) { total, file in
            let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
            return total + text.split(separator: "\n").filter { $0.contains("\"event\":\"\(event)\"") && $0.contains("\"step_revision\":\(revision),") }.count
        }
    }

    /// The first outer step at which each replica log shows `revision`.
    static func firstSteps(data: URL, revision: Int) -> [Int] {
        replicaLogs(data).compactMap { file -> Int? in
            let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") where line.hasPrefix("{") && line.contains("\"event\":\"outer\"") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
                if object["revision"] as? Int == revision { return object["outer_step"] as? Int }
            }
            return nil
        }
    }

    static func waitFor(_ what: String, timeout: Double, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BenchFailure(description: "timed out waiting for \(what)")
    }
}
