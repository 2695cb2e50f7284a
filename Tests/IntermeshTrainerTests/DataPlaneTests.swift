import Foundation
import Testing
@testable import IntermeshTrainer

/// The ring and recovery ports admit members of the run only: their traffic is tagged with the run's data-plane key.
@Suite(.serialized) struct DataPlaneTests {
    let key = DataPlaneKey(hex: String(repeating: "5a", count: 32))!
    let otherKey = DataPlaneKey(hex: String(repeating: "a5", count: 32))!

    func connect(_ port: Int) throws -> Socket {
        try Socket.connect(host: "127.0.0.1", port: port, timeout: 5)
    }

    /// A hello with a wrong tag is refused; a silent connection does not hold the port; the first authenticated
    /// connection for a quorum and position is kept and a second (a replay) is refused.
    @Test func ringHellosNeedTheKeyAndCannotBeReplayed() throws {
        let endpoint = try RingEndpoint(port: 0, host: "127.0.0.1", key: key)
        defer { endpoint.stop() }
        let before = DataPlaneRejections.total
        let silent = try connect(endpoint.port)
        defer { silent.close() }
        let forged = try connect(endpoint.port)
        try forged.send(RingEndpoint.hello(quorum: 7, from: 0, key: otherKey))
        let honest = try connect(endpoint.port)
        try honest.send(RingEndpoint.hello(quorum: 7, from: 1, key: key))
        #expect(endpoint.take(quorum: 7, from: 1, timeout: 5) != nil)
        #expect(endpoint.take(quorum: 7, from: 0, timeout: 0.5) == nil)
        let replay = try connect(endpoint.port)
        try replay.send(RingEndpoint.hello(quorum: 7, from: 1, key: key))
        #expect(endpoint.take(quorum: 7, from: 1, timeout: 0.5) == nil)
        // The forged hello, the silent connection past its deadline, the replay.
        Thread.sleep(forTimeInterval: 1.5)
        #expect(DataPlaneRejections.total - before >= 3)
    }

    /// With the key on every member the ring works as before; a member with another key cannot take part.
    @Test func aRingOfMembersWithTheKeyAgreesAndAnOutsiderFailsIt() throws {
        let ring = RingAllReduceTests()
        let vectors = ring.vectors(3, length: 1000)
        let results = try ring.allReduce(vectors, quantize: true, key: key)
        let means = try results.map { try $0.get().mean }
        #expect(means.count == 3 && means.allSatisfy { $0 == means[0] })

        let endpoints = try (0..<2).map { index in try RingEndpoint(port: 0, host: "127.0.0.1", key: index == 0 ? key : otherKey) }
        defer { endpoints.forEach { $0.stop() } }
        let peers = endpoints.enumerated().map { RingPeer(id: "m\($0.offset)", host: "127.0.0.1", port: $0.element.port) }
        nonisolated(unsafe) var outcomes: [Int: Result<RingAllReduce.Outcome, Error>] = [:]
        let lock = NSLock(), group = DispatchGroup()
        for member in 0..<2 {
            group.enter()
            Thread {
                let result = Result { try RingAllReduce.run(vectors[member], peers: peers, me: member, quorum: 9, quantize: true,
                                                            endpoint: endpoints[member], timeout: 2) }
                lock.lock()
                outcomes[member] = result
                lock.unlock()
                group.leave()
            }.start()
        }
        group.wait()
        // Nothing is applied: both fail, neither mixes in the other's vector.
        #expect(outcomes.values.allSatisfy { (try? $0.get()) == nil })
    }

    /// A chunk tagged for another place in the ring (a replay from an earlier step) fails the exchange.
    @Test func aRingMessageTaggedForAnotherStepIsRefused() throws {
        let listener = try Listener(port: 0, host: "127.0.0.1")
        let sender = try connect(listener.port)
        let receiver = try #require(listener.accept(timeout: 5))
        let outgoing = try connect(listener.port)
        _ = listener.accept(timeout: 5)
        let message = RingAllReduce.encode([1, 2, 3], quantize: false)
        // Position 0 sends the message of seq 0; position 1 expects seq 1.
        try sender.send(message + Optional(key).seal(DataPlaneKey.bytes(4, 0, 0), message))
        #expect(throws: RingAllReduce.Failure.self) {
            _ = try RingAllReduce.exchange(send: message, to: outgoing, from: receiver, peer: "m2", me: 1, count: 3, quorum: 4, seq: 1, key: key)
        }
    }

    /// Control requests (quorum coordination, snapshots, status) need the key and a recent time.
    @Test func controlRequestsNeedTheKeyAndAreRefusedWhenOld() throws {
        func read(_ bytes: [UInt8]) throws -> ControlRequest {
            let listener = try Listener(port: 0, host: "127.0.0.1")
            let client = try connect(listener.port)
            let server = try #require(listener.accept(timeout: 5))
            try client.send(bytes)
            return try ControlRequest.read(from: server, key: key)
        }
        guard case .snapshot(after: 3) = try read(ControlRequest.snapshot(after: 3).encoded(key: key)) else {
            Issue.record("the request did not round-trip")
            return
        }
        #expect(throws: ByteReader.Failure.self) { try read(ControlRequest.snapshot(after: 3).encoded(key: nil)) }
        #expect(throws: ByteReader.Failure.self) { try read(ControlRequest.status.encoded(key: otherKey)) }
        var tampered = ControlRequest.snapshot(after: 3).encoded(key: key)
        tampered[17] ^= 1
        #expect(throws: ByteReader.Failure.self) { try read(tampered) }
        #expect(throws: ByteReader.Failure.self) { try read(ControlRequest.status.encoded(key: key, now: Date().addingTimeInterval(-3600))) }
    }

    /// A control server with the key serves members and refuses outsiders, and a silent connection gets closed.
    @Test func theControlServerAnswersMembersOnly() throws {
        let box = SnapshotBox()
        let room = CoordinatorRoom(peerCount: 1, minReplicas: 1, joinTimeout: 1, previous: [0], lastId: 0, probe: { _ in false })
        let server = try ControlServer(port: 0, host: "127.0.0.1", key: key, room: room, box: box, joinTimeout: 1)
        defer { server.stop() }
        let status = try ControlReply.call(host: "127.0.0.1", port: server.port, .status, key: key, timeout: 5)
        #expect(try ReplicaStatus(decoding: status).outerStep == box.status.outerStep)
        #expect(throws: Socket.Failure.self) { try ControlReply.call(host: "127.0.0.1", port: server.port, .status, key: otherKey, timeout: 5) }
        #expect(throws: Socket.Failure.self) { try ControlReply.call(host: "127.0.0.1", port: server.port, .snapshot(after: 0), key: nil, timeout: 5) }
    }
}
