import Foundation

/// A member of one all-reduce ring: where its ring port listens.
public struct RingPeer: Sendable, Hashable, Codable {
    public var id: String
    public var host: String
    public var port: Int

    public init(id: String, host: String, port: Int) {
        self.id = id
        self.host = host
        self.port = port
    }
}

/// The mean of one vector per member, over TCP: reduce-scatter then all-gather around the ring. With weights,
/// the weighted mean (a member of weight 0 takes part in the ring but adds nothing).
///
/// With int8, every hop of the reduce-scatter dequantizes, accumulates in fp32 and requantizes; each
/// reduced chunk is quantized once by its owner and forwarded byte for byte, so every member ends with
/// bitwise identical results. The codes travel entropy-coded (lossless), which takes the wire below one
/// byte per value. Any failure (a peer gone, a timeout) throws: the caller applies nothing.
public enum RingAllReduce {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// Ring position of the peer that failed, when known.
        public var suspect: Int?

        init(description: String, suspect: Int? = nil) {
            self.description = description
            self.suspect = suspect
        }
    }

    public struct Outcome: Sendable {
        public var mean: [Float]
        public var bytesSent: Int
        public var bytesReceived: Int
        /// This member's link toward the next one, bytes per second as the kernel measured it (`Socket.sendRate`).
        public var sendRate: Double? = nil
    }

    public static func run(
        _ vector: [Float], peers: [RingPeer], me: Int, quorum: UInt64, quantize: Bool,
        endpoint: RingEndpoint, timeout: Double, weights: [Float]? = nil
    ) throws -> Outcome {
        let count = peers.count
        // Weights that are missing, of the wrong length or all zero mean a plain mean.
        let weights = weights.flatMap { $0.count == count && $0.reduce(0, +) > 0 ? $0 : nil }
        guard count > 1 else { return Outcome(mean: vector, bytesSent: 0, bytesReceived: 0) }
        let nextPeer = peers[(me + 1) % count]
        let next: Socket
        do {
            next = try Socket.connect(host: nextPeer.host, port: nextPeer.port, timeout: timeout, retryFor: timeout)
            try next.send(RingEndpoint.hello(quorum: quorum, from: me, key: endpoint.key))
        } catch {
            throw Failure(description: "ring: cannot reach \(nextPeer.id): \(error)", suspect: (me + 1) % count)
        }
        defer { next.close() }
        guard let previous = endpoint.take(quorum: quorum, from: (me - 1 + count) % count, timeout: timeout) else {
            throw Failure(description: "ring: \(peers[(me - 1 + count) % count].id) did not connect within \(timeout)s",
                          suspect: (me - 1 + count) % count)
        }
        defer { previous.close() }

        var acc = vector
        if let weight = weights?[me], weight != 1 { for i in acc.indices { acc[i] *= weight } }
        let bounds = (0...count).map { vector.count * $0 / count }
        func range(_ chunk: Int) -> Range<Int> { bounds[(chunk % count + count) % count]..<bounds[(chunk % count + count) % count + 1] }

        // Reduce-scatter: after count-1 steps this member holds the sum of chunk me+1.
        for step in 0..<(count - 1) {
            let outgoing = encode(Array(acc[range(me - step)]), quantize: quantize)
            let incoming = try exchange(send: outgoing, to: next, from: previous, peer: nextPeer.id, me: me, count: count, quorum: quorum, seq: step,
                                        key: endpoint.key)
            try decode(incoming, into: &acc, range: range(me - step - 1), accumulate: true, quantize: quantize)
        }
        // The owner fixes its chunk to what it sends, so every member ends with the same bits.
        let owned = range(me + 1)
        var forward = encode(Array(acc[owned]), quantize: quantize)
        try decode(forward, into: &acc, range: owned, accumulate: false, quantize: quantize)
        // All-gather: pass each reduced chunk around unchanged.
        for step in 0..<(count - 1) {
            let incoming = try exchange(send: forward, to: next, from: previous, peer: nextPeer.id, me: me, count: count, quorum: quorum,
                                        seq: count - 1 + step, key: endpoint.key)
            try decode(incoming, into: &acc, range: range(me - step), accumulate: false, quantize: quantize)
            forward = incoming
        }
        let scale = 1 / (weights?.reduce(0, +) ?? Float(count))
        for i in acc.indices { acc[i] *= scale }
        return Outcome(mean: acc, bytesSent: next.bytesSent, bytesReceived: previous.bytesReceived, sendRate: next.sendRate())
    }

    static func encode(_ values: [Float], quantize: Bool) -> [UInt8] {
        var writer = ByteWriter(capacity: values.count * (quantize ? 1 : 4) + 1100)
        if quantize {
            let chunk = values.withUnsafeBufferPointer(Int8Quantizer.quantize)
            chunk.encode(into: &writer)
        } else {
            writer.floats(values)
        }
        var framed = ByteWriter(capacity: writer.bytes.count + 8)
        framed.u64(UInt64(writer.bytes.count))
        framed.raw(writer.bytes)
        return framed.bytes
    }

    static func decode(_ message: [UInt8], into acc: inout [Float], range: Range<Int>, accumulate: Bool, quantize: Bool) throws {
        var reader = ByteReader(message)
        _ = try reader.u64()
        if quantize {
            let chunk: Int8Quantizer.Chunk
            do {
                chunk = try Int8Quantizer.Chunk.decode(from: &reader, count: range.count)
            } catch {
                throw Failure(description: "ring: \(error)")
            }
            acc.withUnsafeMutableBufferPointer { buffer in
                Int8Quantizer.dequantize(chunk, into: UnsafeMutableBufferPointer(rebasing: buffer[range]), accumulate: accumulate)
            }
        } else {
            let values = try reader.floats()
            guard values.count == range.count else { throw Failure(description: "ring: chunk of \(values.count) values, expected \(range.count)") }
            for (offset, index) in range.enumerated() { acc[index] = accumulate ? acc[index] + values[offset] : values[offset] }
        }
    }

    /// Sends to the next member while receiving from the previous one, so neither side can block the other. Each
    /// message carries a tag bound to the quorum, its sender's position and its place `seq` in the ring: a message that
    /// was forged, or replayed from another quorum or step, fails the all-reduce (nothing is applied) and is counted.
    static func exchange(send message: [UInt8], to next: Socket, from previous: Socket, peer: String, me: Int, count: Int,
                         quorum: UInt64, seq: Int, key: DataPlaneKey?) throws -> [UInt8] {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var sendError: Error?
        let sealed = message + key.seal(DataPlaneKey.bytes(quorum, UInt64(me), UInt64(seq)), message)
        DispatchQueue.global().async {
            do { try next.send(sealed) } catch { sendError = error }
            done.signal()
        }
        let received: [UInt8]
        do {
            let header = try previous.receive(exactly: 8)
            var reader = ByteReader(header)
            let length = Int(try reader.u64())
            guard length <= 1 << 31 else { throw Failure(description: "ring: message of \(length) bytes") }
            received = header + (try previous.receive(exactly: length))
            let tag = try previous.receive(exactly: DataPlaneKey.tagLength)
            let from = (me - 1 + count) % count
            guard key.check(tag, DataPlaneKey.bytes(quorum, UInt64(from), UInt64(seq)), received) else {
                DataPlaneRejections.record(port: "ring", reason: "a message without a valid tag in quorum \(quorum)")
                throw Failure(description: "ring: a message from position \(from) has no valid tag", suspect: from)
            }
        } catch let failure as Failure {
            done.wait()
            throw failure
        } catch {
            done.wait()
            throw Failure(description: "ring: receive failed: \(error)", suspect: (me - 1 + count) % count)
        }
        done.wait()
        if let sendError { throw Failure(description: "ring: send to \(peer) failed: \(sendError)", suspect: (me + 1) % count) }
        return received
    }
}
