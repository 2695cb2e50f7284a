/// Little-endian encoding of the trainer's wire and checkpoint formats.
public struct ByteWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func f64(_ v: Double) { u64(v.bitPattern) }
    public mutating func raw(_ v: [UInt8]) { bytes.append(contentsOf: v) }

    public mutating func floats(_ v: [Float]) {
        u64(UInt64(v.count))
        v.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    public mutating func string(_ v: String) {
        let utf8 = Array(v.utf8)
        u32(UInt32(utf8.count))
        raw(utf8)
    }
}

public struct ByteReader {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var remaining: Int { bytes.count - offset }

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else { throw Failure(description: "truncated: wanted \(n) bytes, \(remaining) left") }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    public mutating func u8() throws -> UInt8 { try take(1).first! }

    public mutating func u32() throws -> UInt32 {
        try take(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    public mutating func u64() throws -> UInt64 {
        try take(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    public mutating func f64() throws -> Double { Double(bitPattern: try u64()) }

    public mutating func raw(_ n: Int) throws -> [UInt8] { Array(try take(n)) }

    public mutating func floats(limit: Int = 1 << 28) throws -> [Float] {
        let count = Int(try u64())
        guard count <= limit else { throw Failure(description: "float array of \(count) elements exceeds \(limit)") }
        let slice = try take(count * 4)
        return slice.withUnsafeBytes { raw in Array(raw.bindMemory(to: Float.self)) }
    }

    public mutating func string(limit: Int = 1 << 16) throws -> String {
        let count = Int(try u32())
        guard count <= limit else { throw Failure(description: "string of \(count) bytes exceeds \(limit)") }
        return String(decoding: try take(count), as: UTF8.self)
    }
}

extension Int8Quantizer.Chunk {
    enum Codec: UInt8 {
        case raw = 0
        case huffman = 1
    }

    /// Count, the 256 fp32 bin means, then the codes: entropy-coded when that makes them smaller.
    func encode(into writer: inout ByteWriter) {
        writer.u32(UInt32(codes.count))
        lookup.withUnsafeBytes { writer.raw(Array($0)) }
        if let coded = EntropyCoding.compress(codes) {
            writer.u8(Codec.huffman.rawValue)
            writer.u32(UInt32(coded.count))
            writer.raw(coded)
        } else {
            writer.u8(Codec.raw.rawValue)
            writer.u32(UInt32(codes.count))
            writer.raw(codes)
        }
    }

    /// Reads a chunk of exactly `count` values.
    static func decode(from reader: inout ByteReader, count: Int) throws -> Int8Quantizer.Chunk {
        let n = Int(try reader.u32())
        guard n == count else { throw ByteReader.Failure(description: "chunk of \(n) values, expected \(count)") }
        let table = try reader.raw(256 * 4).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let codec = try reader.u8()
        let length = Int(try reader.u32())
        switch Codec(rawValue: codec) {
        case .raw?:
            guard length == n else { throw ByteReader.Failure(description: "raw chunk of \(length) bytes, expected \(n)") }
            return Int8Quantizer.Chunk(lookup: table, codes: try reader.raw(n))
        case .huffman?:
            return Int8Quantizer.Chunk(lookup: table, codes: try EntropyCoding.decompress(try reader.raw(length), count: n))
        case nil:
            throw ByteReader.Failure(description: "unknown code coding \(codec)")
        }
    }
}
