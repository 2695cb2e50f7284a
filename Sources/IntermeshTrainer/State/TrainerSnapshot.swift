import Crypto
import Foundation

/// What a replica must agree on with the others after an outer step: the global parameters, the outer
/// optimizer's momentum and the step counters. Donors serve it; checkpoints store it.
public struct TrainerSnapshot: Sendable, Equatable {
    public static let magic: UInt32 = 0x494D_434B  // "IMCK"
    public static let version: UInt32 = 1

    public var outerStep: Int
    public var innerStep: Int
    public var quorumId: UInt64
    public var revision: String
    public var global: [Float]
    public var momentum: [Float]

    public init(outerStep: Int, innerStep: Int, quorumId: UInt64, revision: String, global: [Float], momentum: [Float]) {
        self.outerStep = outerStep
        self.innerStep = innerStep
        self.quorumId = quorumId
        self.revision = revision
        self.global = global
        self.momentum = momentum
    }

    /// The first 16 hex digits of SHA-256 over the global parameters' bytes.
    public var parameterHash: String { Self.hash(global) }

    public static func hash(_ values: [Float]) -> String {
        let digest = values.withUnsafeBytes { SHA256.hash(data: $0) }
        return digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// The snapshot, followed by a SHA-256 of everything before it, so truncation and corruption are detected.
    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 64 + global.count * 8)
        writer.u32(Self.magic)
        writer.u32(Self.version)
        writer.u64(UInt64(outerStep))
        writer.u64(UInt64(innerStep))
        writer.u64(quorumId)
        writer.string(revision)
        writer.floats(global)
        writer.floats(momentum)
        let digest = Array(SHA256.hash(data: writer.bytes))
        writer.raw(digest)
        return writer.bytes
    }

    public struct Corrupt: Error, CustomStringConvertible {
        public var description: String
    }

    public init(decoding bytes: [UInt8]) throws(Corrupt) {
        guard bytes.count > 32 else { throw Corrupt(description: "\(bytes.count) bytes is too short") }
        let body = Array(bytes.dropLast(32))
        guard Array(SHA256.hash(data: body)) == Array(bytes.suffix(32)) else {
            throw Corrupt(description: "checksum mismatch (truncated or corrupt)")
        }
        var reader = ByteReader(body)
        do {
            guard try reader.u32() == Self.magic else { throw Corrupt(description: "not a snapshot") }
            let version = try reader.u32()
            guard version == Self.version else { throw Corrupt(description: "unsupported version \(version)") }
            outerStep = Int(try reader.u64())
            innerStep = Int(try reader.u64())
            quorumId = try reader.u64()
            revision = try reader.string()
            global = try reader.floats()
            momentum = try reader.floats()
        } catch let error as Corrupt {
            throw error
        } catch {
            throw Corrupt(description: "\(error)")
        }
        guard momentum.count == global.count else { throw Corrupt(description: "momentum and parameters differ in size") }
    }
}
