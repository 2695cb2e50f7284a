import Foundation
import IntermeshAPI
import IntermeshClient
import IntermeshServer
import IntermeshStore
import Testing

/// The reference engine's managed mode against a real `intermesh serve`: three replicas (one of 2 MPI
/// ranks) register, form quorums through the control plane, train, lose one and go on.
@Suite(.serialized) struct ManagedTrainingTests {
    static var trainer: String {
        let beside = Bundle.main.bundleURL.appendingPathComponent("intermesh-trainer").path
        return FileManager.default.isExecutableFile(atPath: beside) ? beside : ServerProcess.root.appendingPathComponent(".build/debug/intermesh-trainer").path
    }

    let runSpec = """
    apiVersion: intermesh/v1
    kind: TrainingRun
    metadata:
      name: managed
    spec:
      model: {kind: mlp, layers: 1, hiddenSize: 64, embeddingSize: 8, vocabSize: 256, sequenceLength: 16}
      data:
        mix:
          - {name: prose, path: data/prose.txt, weight: 0.5}
          - {name: code, path: data/code.txt, weight: 0.5}
      training:
        innerSteps: 20
        batchSize: 16
        innerOptimizer: {lr: 3.0e-3, schedule: {kind: constant, warmupSteps: 5}}
      network: {basePort: 26400}
      sites:
        - {name: alpha, replicas: 1}
        - {name: beta, replicas: 1, ranksPerReplica: 2, launcher: {kind: mpirun, hosts: [localhost]}}
        - {name: gamma, replicas: 1}
      faultPolicy: {heartbeatInterval: 1s, heartbeatTimeout: 4s, minReplicas: 2, joinTimeout: 20s}

    """

    func outerSteps(_ log: URL) -> [[String: Any]] {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["event"] as? String == "outer" }
    }

    @Test func replicasTrainUnderTheControlPlane() async throws {
        let server = ServerProcess()
        try server.start()
        defer { server.stop() }
        let admin = server.client()
        let applied: ApplyResponse = try await admin.post("/v1/runs", json: ["spec": runSpec])
        let revision: RevisionRecord = try await admin.get("/v1/runs/managed/revisions/\(applied.revision)")
        let planFile = server.data.appendingPathComponent("plan.json")
        try revision.plan.write(to: planFile, atomically: true, encoding: .utf8)

        var processes: [String: Process] = [:]
        var logs: [String: URL] = [:]
        for site in ["alpha", "beta", "gamma"] {
            let token: TokenResponse = try await admin.post("/v1/tokens", json: ["role": "agent", "run": "managed", "site": site])
            let tokenFile = server.data.appendingPathComponent("\(site).token")
            try token.token.write(to: tokenFile, atomically: true, encoding: .utf8)
            let log = server.data.appendingPathComponent("\(site).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            var arguments = ["--plan", planFile.path, "--slot", "\(site)/0", "--server", "http://127.0.0.1:\(server.port)",
                             "--token-file", tokenFile.path, "--outer-steps", "40", "--data-dir", ServerProcess.root.path,
                             "--checkpoint-dir", server.data.appendingPathComponent("ckpt-\(site)").path]
            let process = Process()
            if site == "beta" {
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                arguments = ["mpirun", "--oversubscribe", "-np", "2", Self.trainer] + arguments
            } else {
                process.executableURL = URL(fileURLWithPath: Self.trainer)
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
            processes[site] = process
            logs[site] = log
        }
        defer { processes.values.filter(\.isRunning).forEach { kill($0.processIdentifier, SIGKILL) } }

        func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if condition() { return true }
                usleep(200_000)
            }
            return false
        }
        #expect(waitFor(120) { ["alpha", "beta", "gamma"].allSatisfy { outerSteps(logs[$0]!).count >= 3 } }, "logs in \(server.data.path)")
        // All three registered and formed quorums through the control plane.
        #expect((outerSteps(logs["alpha"]!).first?["quorum"] as? [String]) == ["alpha/0", "beta/0", "gamma/0"])

        // kill -9 of gamma: after its heartbeat timeout the control plane forms quorums without it.
        kill(processes["gamma"]!.processIdentifier, SIGKILL)
        #expect(waitFor(60) { outerSteps(logs["alpha"]!).contains { ($0["quorum"] as? [String]) == ["alpha/0", "beta/0"] } })
        for site in ["alpha", "beta"] {
            processes[site]!.waitUntilExit()
            #expect(processes[site]!.terminationStatus == 0)
        }
        var hashes: [Int: Set<String>] = [:]
        for site in ["alpha", "beta", "gamma"] {
            for step in outerSteps(logs[site]!) { hashes[step["outer_step"] as! Int, default: []].insert(step["hash"] as! String) }
        }
        #expect(hashes.count == 40)
        #expect(hashes.values.allSatisfy { $0.count == 1 })
        let events = String(decoding: try await admin.send(.GET, "/v1/runs/managed/events?limit=1000").body, as: UTF8.self)
        #expect(events.contains("of gamma/0 lost"))
    }
}
