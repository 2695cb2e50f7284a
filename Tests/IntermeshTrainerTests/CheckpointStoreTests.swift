import Foundation
import Testing
@testable import IntermeshTrainer

@Suite struct CheckpointStoreTests {
    func snapshot(_ step: Int) -> TrainerSnapshot {
        TrainerSnapshot(outerStep: step, innerStep: step * 10, quorumId: UInt64(step), revision: "sha256:abc",
                        global: (0..<1000).map { Float($0) * 0.001 + Float(step) }, momentum: [Float](repeating: 0.5, count: 1000))
    }

    func store() -> CheckpointStore {
        CheckpointStore(directory: FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID())"), keep: 2)
    }

    @Test func roundTripsAndKeepsTheNewest() throws {
        let store = store()
        for step in 1...4 { try store.write(snapshot(step)) }
        #expect(store.checkpoints().map(\.lastPathComponent) == ["checkpoint-00000004.bin", "checkpoint-00000003.bin"])
        let (loaded, skipped) = store.loadNewest()
        #expect(loaded == snapshot(4))
        #expect(skipped.isEmpty)
        // No temporary files are left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: store.directory.path)
        #expect(names.allSatisfy { !$0.hasSuffix(".tmp") })
    }

    @Test(arguments: ["truncated", "flipped", "empty", "garbage"])
    func aDamagedNewestCheckpointIsSkipped(_ damage: String) throws {
        let store = store()
        try store.write(snapshot(1))
        try store.write(snapshot(2))
        let newest = store.checkpoints()[0]
        var bytes = try [UInt8](Data(contentsOf: newest))
        switch damage {
        case "truncated": bytes = Array(bytes.prefix(bytes.count / 2))
        case "flipped": bytes[bytes.count / 2] ^= 0x40
        case "empty": bytes = []
        default: bytes = Array("not a checkpoint at all, but long enough to pass the length check".utf8)
        }
        try Data(bytes).write(to: newest)
        let (loaded, skipped) = store.loadNewest()
        #expect(loaded == snapshot(1))
        #expect(skipped.map(\.file) == ["checkpoint-00000002.bin"])
    }

    @Test func snapshotHashIsStableAndSensitive() {
        let a = snapshot(3)
        var b = a
        #expect(a.parameterHash == b.parameterHash)
        b.global[17] = b.global[17].nextUp
        #expect(a.parameterHash != b.parameterHash)
        #expect(a.parameterHash.count == 16)
    }
}
