import Foundation
import IntermeshPlan
import IntermeshSpec
import Testing

/// Starts real `intermesh-trainer` processes for the replicas of a plan and reads their JSON logs.
final class TrainerHarness: @unchecked Sendable {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: String {
        if let explicit = ProcessInfo.processInfo.environment["INTERMESH_TRAINER_BIN"] { return explicit }
        let beside = Bundle.main.bundleURL.appendingPathComponent("intermesh-trainer").path
        return FileManager.default.isExecutableFile(atPath: beside) ? beside : root.appendingPathComponent(".build/debug/intermesh-trainer").path
    }

    let directory: URL
    let planPath: String
    let plan: Plan
    var processes: [String: Process] = [:]
    var logs: [String: [URL]] = [:]

    /// Compiles `spec` into a plan inside a fresh directory.
    init(spec: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("trainer-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let loaded = SpecLoader().load(name: "run.yaml", text: spec)
        let run = try #require(loaded.validRun, "\(loaded.diagnostics)")
        plan = Planner.compile(run)
        planPath = directory.appendingPathComponent("plan.json").path
        try PlanWriter.json(plan).write(to: URL(fileURLWithPath: planPath))
    }

    /// Starts a slot's replica: mpirun when it has several ranks, a plain process otherwise.
    func start(_ slot: String, extra: [String] = []) throws {
        let (_, replica) = try #require(plan.replica(slot: slot))
        let log = directory.appendingPathComponent("\(slot.replacingOccurrences(of: "/", with: "-"))-\(logs[slot, default: []].count).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        var arguments = ["--plan", planPath, "--slot", slot, "--standalone", "--data-dir", Self.root.path,
                         "--checkpoint-dir", directory.appendingPathComponent("ckpt-\(replica.globalIndex)").path] + extra
        if replica.worldSize > 1 {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            arguments = ["mpirun", "--oversubscribe", "-np", String(replica.worldSize), Self.binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: Self.binary)
        }
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        process.environment = environment
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        processes[slot] = process
        logs[slot, default: []].append(log)
    }

    func kill(_ slot: String) {
        guard let process = processes[slot] else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func stopAll() {
        for process in processes.values where process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning, Date() < deadline { usleep(50_000) }
            if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        }
    }

    /// Every JSON line a slot's processes wrote, in order.
    func events(_ slot: String) -> [[String: Any]] {
        logs[slot, default: []].flatMap { url -> [[String: Any]] in
            let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
    }

    func outerSteps(_ slot: String) -> [[String: Any]] { events(slot).filter { $0["event"] as? String == "outer" } }

    func lastOuterStep(_ slot: String) -> Int { outerSteps(slot).last?["outer_step"] as? Int ?? 0 }

    /// Waits up to `timeout` seconds for `condition`.
    @discardableResult
    func wait(_ timeout: Double, _ what: String, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(200_000)
        }
        Issue.record("timed out after \(timeout)s waiting for \(what); logs in \(directory.path)")
        return false
    }

    func waitForExit(_ slot: String, timeout: Double) -> Int32? {
        guard let process = processes[slot] else { return nil }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(100_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    deinit {
        stopAll()
    }
}

/// A small run of the reference engine: three sites, one with 2 MPI ranks per replica.
/// `basePort` must be below the kernel's ephemeral range (32768 and up), where any outgoing connection may hold it.
func trainerSpec(basePort: Int, innerSteps: Int = 10, quantization: String = "int8", extraTraining: String = "") -> String {
    """
    apiVersion: intermesh/v1
    kind: TrainingRun
    metadata:
      name: trainer-test
    spec:
      model: {kind: mlp, layers: 1, hiddenSize: 64, embeddingSize: 8, vocabSize: 256, sequenceLength: 16}
      data:
        mix:
          - {name: prose, path: data/prose.txt, weight: 0.4}
          - {name: code, path: data/code.txt, weight: 0.3}
          - {name: arithmetic, path: data/arithmetic.txt, weight: 0.3}
      training:
        innerSteps: \(innerSteps)
        batchSize: 16
        quantization: \(quantization)
        innerOptimizer: {lr: 3.0e-3, schedule: {kind: constant, warmupSteps: 5}}
        checkpoint: {interval: \(innerSteps * 2), keep: 2}
    \(extraTraining)
      network: {basePort: \(basePort)}
      sites:
        - {name: alpha, replicas: 1}
        - {name: beta, replicas: 1, ranksPerReplica: 2, launcher: {kind: mpirun, hosts: [localhost]}}
        - {name: gamma, replicas: 1}
      faultPolicy: {heartbeatTimeout: 3s, heartbeatInterval: 1s, minReplicas: 2, joinTimeout: 20s}

    """
}
