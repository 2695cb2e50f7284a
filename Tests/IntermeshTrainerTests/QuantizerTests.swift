import Foundation
import Testing
@testable import IntermeshTrainer

@Suite struct QuantizerTests {
    func gaussian(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<n).map { _ in
            let u1 = max(rng.unit(), 1e-12), u2 = rng.unit()
            return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)) * scale + 0.01
        }
    }

    func roundTrip(_ values: [Float]) -> [Float] {
        let chunk = values.withUnsafeBufferPointer(Int8Quantizer.quantize)
        var out = [Float](repeating: 0, count: values.count)
        out.withUnsafeMutableBufferPointer { Int8Quantizer.dequantize(chunk, into: $0, accumulate: false) }
        return out
    }

    /// Inside mean +- 3 sigma each value comes back within one bin width (6 sigma / 253).
    @Test(arguments: [1e-4, 1, 1e3] as [Float])
    func errorIsBoundedByOneBin(_ scale: Float) {
        let values = gaussian(100_000, seed: 1, scale: scale)
        let back = roundTrip(values)
        let mean = values.reduce(0, +) / Float(values.count)
        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(values.count)).squareRoot()
        let bin = 6 * std / 253
        var squared: Float = 0
        for (x, y) in zip(values, back) {
            if abs(x - mean) <= 3 * std { #expect(abs(x - y) <= bin * 1.001) }
            squared += (x - y) * (x - y)
        }
        let rmse = (squared / Float(values.count)).squareRoot()
        // Bins alone give 1/253/sqrt(12)*6 = 0.7% of sigma; the 0.27% of values beyond 3 sigma add the rest.
        #expect(rmse / std < 0.02, "relative RMSE \(rmse / std)")
    }

    @Test func constantAndEmptyChunksRoundTripExactly() {
        #expect(roundTrip([Float](repeating: 0.25, count: 10)) == [Float](repeating: 0.25, count: 10))
        #expect(roundTrip([]) == [])
    }

    @Test func wireEncodingRoundTrips() throws {
        let values = gaussian(1000, seed: 2)
        let encoded = RingAllReduce.encode(values, quantize: true)
        #expect(encoded.count <= 8 + 4 + 1024 + 5 + 1000)
        var out = [Float](repeating: 0, count: 1000)
        try RingAllReduce.decode(encoded, into: &out, range: 0..<1000, accumulate: false, quantize: true)
        #expect(out == roundTrip(values))
        let raw = RingAllReduce.encode(values, quantize: false)
        #expect(raw.count == 8 + 8 + 4000)
        try RingAllReduce.decode(raw, into: &out, range: 0..<1000, accumulate: false, quantize: false)
        #expect(out == values)
    }
}
