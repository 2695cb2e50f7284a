import Foundation
import IntermeshAPI
import Testing
@testable import IntermeshTrainer

@Suite(.serialized) struct RingAllReduceTests {
    /// Runs one all-reduce with `count` members on loopback, one thread each.
    func allReduce(_ vectors: [[Float]], quantize: Bool, quorum: UInt64 = 1, dropMember: Int? = nil,
                   weights: [Float]? = nil, key: DataPlaneKey? = nil) throws -> [Result<RingAllReduce.Outcome, Error>] {
        let endpoints = try vectors.map { _ in try RingEndpoint(port: 0, host: "127.0.0.1", key: key) }
        defer { endpoints.forEach { $0.stop() } }
        let peers = endpoints.enumerated().map { RingPeer(id: "m\($0.offset)", host: "127.0.0.1", port: $0.element.port) }
        nonisolated(unsafe) var results = [Result<RingAllReduce.Outcome, Error>?](repeating: nil, count: vectors.count)
        let group = DispatchGroup()
        let lock = NSLock()
        for member in vectors.indices where member != dropMember {
            group.enter()
            Thread {
                let result = Result {
                    try RingAllReduce.run(vectors[member], peers: peers, me: member, quorum: quorum, quantize: quantize,
                                          endpoint: endpoints[member], timeout: 2, weights: weights)
                }
                lock.lock()
                results[member] = result
                lock.unlock()
                group.leave()
            }.start()
        }
        group.wait()
        return results.compactMap { $0 }
    }

    func vectors(_ count: Int, length: Int) -> [[Float]] {
        (0..<count).map { member in
            var rng = SeededRandom(seed: UInt64(member + 1))
            return (0..<length).map { _ in rng.symmetric(1) }
        }
    }

    @Test func weightedMeanLeavesAZeroWeightMemberOut() throws {
        let inputs = vectors(3, length: 1001)
        // The third member (a canary in shadow) takes part in the ring but adds nothing.
        let outcomes = try allReduce(inputs, quantize: false, weights: [1, 1, 0]).map { try $0.get().mean }
        #expect(outcomes.count == 3)
        for i in stride(from: 0, to: 1001, by: 97) {
            #expect(abs(outcomes[0][i] - (inputs[0][i] + inputs[1][i]) / 2) < 1e-6)
        }
        #expect(outcomes[0] == outcomes[1] && outcomes[1] == outcomes[2])
        // Weights of 2 and 1: a weighted mean; all zero: a plain mean.
        let weighted = try allReduce(Array(inputs.prefix(2)), quantize: false, weights: [2, 1]).map { try $0.get().mean }
        #expect(abs(weighted[0][5] - (2 * inputs[0][5] + inputs[1][5]) / 3) < 1e-6)
        let plain = try allReduce(Array(inputs.prefix(2)), quantize: false, weights: [0, 0]).map { try $0.get().mean }
        #expect(abs(plain[0][5] - (inputs[0][5] + inputs[1][5]) / 2) < 1e-6)
    }

    @Test(arguments: 2...5)
    func int8MeanIsCloseToExactAndIdenticalEverywhere(_ count: Int) throws {
        let inputs = vectors(count, length: 10_001)
        let exact = (0..<10_001).map { i in inputs.map { $0[i] }.reduce(0, +) / Float(count) }
        let outcomes = try allReduce(inputs, quantize: true).map { try $0.get() }
        #expect(outcomes.count == count)
        let first = outcomes[0].mean
        for outcome in outcomes { #expect(outcome.mean == first) }
        // Each hop adds at most one bin (6 sigma / 255) of a partial sum; the mean divides by count.
        let worst = zip(first, exact).map { abs($0 - $1) }.max()!
        #expect(worst < 0.03 * Float(count), "worst error \(worst)")
        let rmse = (zip(first, exact).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Float(exact.count)).squareRoot()
        #expect(rmse < 0.01, "rmse \(rmse)")
    }

    @Test(arguments: 2...5)
    func fp32MeanIsExactUpToRounding(_ count: Int) throws {
        let inputs = vectors(count, length: 1000)
        let exact = (0..<1000).map { i in inputs.map { $0[i] }.reduce(0, +) / Float(count) }
        let outcomes = try allReduce(inputs, quantize: false).map { try $0.get() }
        for outcome in outcomes {
            #expect(zip(outcome.mean, exact).allSatisfy { abs($0 - $1) < 1e-5 })
            #expect(outcome.mean == outcomes[0].mean)
        }
    }

    /// Each member sends 2 (R-1)/R of the payload: at most one byte per value with int8 (the codes are
    /// entropy-coded when that is smaller), plus tables and framing; fp32 sends four bytes per value.
    @Test func bytesOnTheWire() throws {
        let length = 90_000
        let int8 = try allReduce(vectors(3, length: length), quantize: true).map { try $0.get() }
        let fp32 = try allReduce(vectors(3, length: length), quantize: false).map { try $0.get() }
        // A 32-byte hello, then 4 messages, each with its 16-byte tag.
        let hello = 16 + DataPlaneKey.tagLength, tag = DataPlaneKey.tagLength
        let rawChunk = 8 + 4 + 1024 + 5 + length / 3 + tag
        for (coded, plain) in zip(int8, fp32) {
            #expect(coded.bytesSent < hello + 4 * rawChunk)
            #expect(coded.bytesSent > hello + 4 * (8 + 4 + 1024 + 5 + tag) + 4 * (length / 3) * 7 / 8)
            #expect(plain.bytesSent == hello + 4 * (8 + 8 + 4 * (length / 3) + tag))
        }
        #expect(int8.map(\.bytesSent).reduce(0, +) == int8.map(\.bytesReceived).reduce(0, +))
    }

    @Test func aMissingMemberFailsFastForEveryone() throws {
        let start = Date()
        let results = try allReduce(vectors(3, length: 100), quantize: true, dropMember: 2)
        #expect(results.count == 2)
        for result in results {
            #expect(throws: RingAllReduce.Failure.self) { try result.get() }
        }
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test func aSingleMemberReturnsItsOwnVector() throws {
        let outcome = try allReduce([[1, 2, 3]], quantize: true)[0].get()
        #expect(outcome.mean == [1, 2, 3])
        #expect(outcome.bytesSent == 0)
    }
}
