import Foundation
import Testing
@testable import IntermeshTrainer

@Suite struct EntropyCodingTests {
    /// Int8 codes of a bell-shaped vector, as the quantizer makes them.
    func gaussianCodes(_ n: Int, seed: UInt64) -> [UInt8] {
        var rng = SeededRandom(seed: seed)
        let values: [Float] = (0..<n).map { _ in
            let u1 = max(rng.unit(), 1e-12), u2 = rng.unit()
            return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
        }
        return values.withUnsafeBufferPointer(Int8Quantizer.quantize).codes
    }

    @Test func bellShapedCodesShrinkAndComeBackExactly() throws {
        let codes = gaussianCodes(100_000, seed: 3)
        let coded = try #require(EntropyCoding.compress(codes))
        // A normal distribution over bins of sigma / 42 has an entropy of about 7.45 bits.
        #expect(coded.count < codes.count * 96 / 100, "\(coded.count) of \(codes.count) bytes")
        #expect(try EntropyCoding.decompress(coded, count: codes.count) == codes)
    }

    @Test func incompressibleBytesAreLeftRaw() {
        var rng = SeededRandom(seed: 9)
        let bytes = (0..<10_000).map { _ in UInt8(truncatingIfNeeded: Int(rng.unit() * 256)) }
        #expect(EntropyCoding.compress(bytes) == nil)
        #expect(EntropyCoding.compress([]) == nil)
    }

    @Test func aCorruptOrMiscountedStreamThrows() throws {
        let codes = gaussianCodes(10_000, seed: 4)
        let coded = try #require(EntropyCoding.compress(codes))
        #expect(throws: EntropyCoding.Failure.self) { try EntropyCoding.decompress(coded, count: codes.count - 1) }
        #expect(throws: EntropyCoding.Failure.self) { try EntropyCoding.decompress(coded, count: codes.count + 1) }
        #expect(throws: EntropyCoding.Failure.self) { try EntropyCoding.decompress(Array(coded.prefix(coded.count / 2)), count: codes.count) }
        var flipped = coded
        for i in stride(from: 0, to: flipped.count, by: 7) { flipped[i] ^= 0x5a }
        #expect((try? EntropyCoding.decompress(flipped, count: codes.count)) != codes)
    }

    /// The chunk's wire form round-trips whichever way its codes travel.
    @Test(arguments: [true, false])
    func chunksRoundTripOnTheWire(_ compressible: Bool) throws {
        var rng = SeededRandom(seed: 5)
        let codes = compressible ? gaussianCodes(5_000, seed: 6) : (0..<5_000).map { _ in UInt8(truncatingIfNeeded: Int(rng.unit() * 256)) }
        let chunk = Int8Quantizer.Chunk(lookup: (0..<256).map { Float($0) / 7 }, codes: codes)
        var writer = ByteWriter()
        chunk.encode(into: &writer)
        #expect((writer.bytes.count < 4 + 1024 + 5 + codes.count) == compressible)
        var reader = ByteReader(writer.bytes)
        #expect(try Int8Quantizer.Chunk.decode(from: &reader, count: codes.count) == chunk)
        var wrongCount = ByteReader(writer.bytes)
        #expect(throws: ByteReader.Failure.self) { try Int8Quantizer.Chunk.decode(from: &wrongCount, count: codes.count + 1) }
    }
}
