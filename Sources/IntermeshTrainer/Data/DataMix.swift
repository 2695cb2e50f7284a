import Foundation
import IntermeshSpec

/// The run's data sources in memory, each split into a training part and a held-out evaluation tail.
public struct DataMix: Sendable {
    public struct Source: Sendable {
        public var name: String
        public var weight: Double
        public var bytes: [UInt8]
        /// Bytes before this index train; the rest is held out for evaluation.
        public var evalStart: Int
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public var sources: [Source]
    public let context: Int

    /// Loads every source of the spec's mix; relative paths are resolved against `directory`.
    public init(spec: DataSpec, context: Int, directory: URL) throws {
        self.context = context
        sources = try spec.mix.map { source in
            let url = source.path.hasPrefix("/") ? URL(fileURLWithPath: source.path) : directory.appendingPathComponent(source.path)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw Failure(description: "data source '\(source.name)': cannot read \(url.path)")
            }
            let bytes = source.format == .jsonl ? try Self.jsonlText(data, field: source.field, name: source.name) : [UInt8](data)
            let evalLength = max(context + 1, Int(Double(bytes.count) * spec.evalFraction))
            guard bytes.count >= 2 * (context + 1) + evalLength else {
                throw Failure(description: "data source '\(source.name)': \(bytes.count) bytes is too little for a context of \(context)")
            }
            return Source(name: source.name, weight: source.weight, bytes: bytes, evalStart: bytes.count - evalLength)
        }
    }

    /// The documents of a JSONL file, joined by newlines.
    static func jsonlText(_ data: Data, field: String, name: String) throws -> [UInt8] {
        var out: [UInt8] = []
        for (number, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where !line.isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                  let text = object[field] as? String else {
                throw Failure(description: "data source '\(name)': line \(number + 1) has no string field '\(field)'")
            }
            out += Array(text.utf8)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    /// Replaces the mix weights (a rollout changes them without reloading the data).
    public mutating func setWeights(_ weights: [String: Double]) {
        for index in sources.indices { sources[index].weight = weights[sources[index].name] ?? sources[index].weight }
    }
}

/// Draws training examples for one rank: a source by mix weight, then a window inside that rank's own
/// contiguous shard of the source. Seeded, so a rank's stream is the same on every run.
public struct ShardSampler: Sendable {
    public let shard: Int
    public let shards: Int
    var rng: SeededRandom

    public init(shard: Int, shards: Int, seed: UInt64) {
        self.shard = shard
        self.shards = max(1, shards)
        rng = SeededRandom(seed: seed &* 0x100000001B3 &+ UInt64(shard))
    }

    /// `count` windows of `context` input bytes and their next bytes.
    public mutating func batch(_ count: Int, from mix: DataMix) -> (inputs: [UInt8], targets: [UInt8]) {
        let total = mix.sources.reduce(0) { $0 + $1.weight }
        var inputs: [UInt8] = []
        var targets: [UInt8] = []
        inputs.reserveCapacity(count * mix.context)
        for _ in 0..<count {
            var pick = rng.unit() * total
            var chosen = mix.sources.count - 1
            for (index, source) in mix.sources.enumerated() {
                pick -= source.weight
                if pick < 0 { chosen = index; break }
            }
            let source = mix.sources[chosen]
            let span = source.evalStart / shards
            let lower = span * shard
            let room = max(1, span - mix.context - 1)
            let start = lower + Int(rng.next() % UInt64(room))
            inputs += source.bytes[start..<(start + mix.context)]
            targets.append(source.bytes[start + mix.context])
        }
        return (inputs, targets)
    }
}

extension DataMix {
    /// A fixed evaluation batch per source from its held-out tail, the same for every replica.
    public func evaluationBatches(size: Int) -> [(name: String, inputs: [UInt8], targets: [UInt8])] {
        sources.map { source in
            var rng = SeededRandom(seed: 0xE7A1)
            var inputs: [UInt8] = [], targets: [UInt8] = []
            let room = source.bytes.count - source.evalStart - context - 1
            for _ in 0..<size {
                let start = source.evalStart + Int(rng.next() % UInt64(max(1, room)))
                inputs += source.bytes[start..<(start + context)]
                targets.append(source.bytes[start + context])
            }
            return (source.name, inputs, targets)
        }
    }
}
