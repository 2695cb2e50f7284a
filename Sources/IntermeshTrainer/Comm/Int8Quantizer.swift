/// PRIME's int8 scheme: bins over mean +- 3 standard deviations, and a 256-entry lookup table of bin
/// means sent with the codes, so each value comes back as the mean of its bin.
///
/// Codes 1...254 cover the range, so a value inside it comes back within one bin width (6 sigma / 253);
/// codes 0 and 255 hold only the values beyond 3 sigma, whose mean would otherwise pull the edge bins.
public enum Int8Quantizer {
    public struct Chunk: Sendable, Equatable {
        public var lookup: [Float]
        public var codes: [UInt8]
    }

    public static func quantize(_ values: UnsafeBufferPointer<Float>) -> Chunk {
        let n = values.count
        guard n > 0 else { return Chunk(lookup: [Float](repeating: 0, count: 256), codes: []) }
        var sum: Double = 0
        for x in values { sum += Double(x) }
        let mean = sum / Double(n)
        var squares: Double = 0
        for x in values { squares += (Double(x) - mean) * (Double(x) - mean) }
        let std = (squares / Double(n)).squareRoot()
        let low = mean - 3 * std
        let high = mean + 3 * std
        let width = 6 * std / 253
        var codes = [UInt8](repeating: 0, count: n)
        var binSums = [Double](repeating: 0, count: 256)
        var binCounts = [Int](repeating: 0, count: 256)
        for i in 0..<n {
            let x = Double(values[i])
            let code: Int
            if width == 0 {
                code = 1
            } else if x < low {
                code = 0
            } else if x > high {
                code = 255
            } else {
                code = 1 + min(253, Int(((x - low) / width).rounded()))
            }
            codes[i] = UInt8(code)
            binSums[code] += Double(values[i])
            binCounts[code] += 1
        }
        var lookup = [Float](repeating: 0, count: 256)
        for bin in 0..<256 {
            lookup[bin] = binCounts[bin] > 0 ? Float(binSums[bin] / Double(binCounts[bin])) : Float(low + Double(bin - 1) * width)
        }
        return Chunk(lookup: lookup, codes: codes)
    }

    /// Writes (or adds, when `accumulate`) the dequantized values into `output`.
    public static func dequantize(_ chunk: Chunk, into output: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
        precondition(output.count == chunk.codes.count)
        chunk.lookup.withUnsafeBufferPointer { table in
            for i in 0..<chunk.codes.count {
                let value = table[Int(chunk.codes[i])]
                output[i] = accumulate ? output[i] + value : value
            }
        }
    }
}
