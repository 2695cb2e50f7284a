import Foundation
import Testing
@testable import IntermeshAgent

@Suite struct AgentStateTests {
    @Test func stateRoundTripsThroughItsFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agent-state-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var state = AgentState()
        state.incarnations["alpha/0"] = 3
        state.replicas.append(ReplicaRecord(slot: "alpha/0", member: "m-1", incarnation: 3, pid: 42, startTime: 7, revision: 2,
                                            signature: "s", log: "/tmp/x.log", launchedAt: Date(timeIntervalSince1970: 1_700_000_000)))
        try state.save(to: directory)
        let loaded = try AgentState.load(from: directory)
        #expect(loaded.incarnations == ["alpha/0": 3])
        #expect(loaded.replicas == state.replicas)
    }

    @Test func aCorruptStateFileIsAnErrorThatNamesIt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agent-state-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("{not json".utf8).write(to: directory.appendingPathComponent("agent.json"))
        let error = #expect(throws: ReplicaProcess.Failure.self) { try AgentState.load(from: directory) }
        #expect(error?.description.contains("agent.json") == true)
    }

    @Test(arguments: [
        ("checkpoints", "/var/lib/agent/checkpoints/alpha-0"),
        ("ckpt/fast", "/var/lib/agent/ckpt/fast/alpha-0"),
        ("/mnt/nvme/ckpt", "/mnt/nvme/ckpt/demo/alpha-0"),
    ])
    func checkpointsGoWhereTheSpecSays(_ path: String, expected: String) {
        let config = AgentConfiguration(run: "demo", site: "alpha", server: "http://127.0.0.1:1", token: "t",
                                        stateDirectory: URL(fileURLWithPath: "/var/lib/agent"), workingDirectory: URL(fileURLWithPath: "/"))
        #expect(config.checkpointDirectory(of: "alpha-0", path: path).path == expected)
    }
}
