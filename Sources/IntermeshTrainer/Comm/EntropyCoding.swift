import CZlib

/// Lossless coding of int8 codes for the wire: raw deflate with Huffman coding only (zlib's
/// `Z_HUFFMAN_ONLY`). Quantized pseudo-gradients are bell-shaped over the 256 codes, so the middle codes
/// are far more common than the edges and take fewer bits; there are no repeats for LZ77 to find.
public enum EntropyCoding {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The coded bytes, or nil when coding would not make them smaller (the caller sends them raw).
    public static func compress(_ bytes: [UInt8]) -> [UInt8]? {
        guard !bytes.isEmpty else { return nil }
        var stream = z_stream()
        guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 9, Z_HUFFMAN_ONLY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))))
        let status = finish(&stream, from: bytes, into: &output, with: deflate)
        guard status == Z_STREAM_END, Int(stream.total_out) < bytes.count else { return nil }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }

    /// Decodes exactly `count` bytes; anything else (a corrupt stream, too few or too many bytes) throws.
    public static func decompress(_ coded: [UInt8], count: Int) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(description: "entropy coding: cannot start inflate")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: count)
        let status = finish(&stream, from: coded, into: &output, with: inflate)
        guard status == Z_STREAM_END, Int(stream.total_out) == count, stream.avail_in == 0 else {
            throw Failure(description: "entropy coding: corrupt stream (status \(status), \(stream.total_out) of \(count) bytes)")
        }
        return output
    }

    /// Runs `step` (deflate or inflate) once over all of `input` into `output`, to the end of the stream.
    static func finish(_ stream: inout z_stream, from input: [UInt8], into output: inout [UInt8],
                       with step: (UnsafeMutablePointer<z_stream>, Int32) -> Int32) -> Int32 {
        input.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                return step(&stream, Z_FINISH)
            }
        }
    }
}
