import Foundation
import Testing
@testable import IntermeshTrainer

@Suite(.serialized) struct RingAllReduceTests {
    /// Runs one all-reduce with `count` members on loopback, one thread each.
    func allReduce(_ vectors: [[Float]], quantize: Bool, quorum: UInt64 = 1, dropMember: Int? = nil) throws -> [Result<RingAllReduce.Outcome, Error>] {
        let endpoints = try vectors.map { _ in try RingEndpoint(port: 0, host: "127.0.0.1") }
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
                                          endpoint: endpoints[member], timeout: 2)
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

    /// Each member sends 2 (R-1)/R of the payload: one byte per value with int8, plus tables and framing.
    @Test func bytesOnTheWire() throws {
        let length = 90_000
        let outcomes = try allReduce(vectors(3, length: length), quantize: true).map { try $0.get() }
        let perChunk = 8 + 4 + 1024 + length / 3
        for outcome in outcomes {
            #expect(outcome.bytesSent == 16 + 4 * perChunk)
            #expect(outcome.bytesReceived == 16 + 4 * perChunk)
        }
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
