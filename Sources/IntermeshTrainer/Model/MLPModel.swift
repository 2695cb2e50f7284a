import Foundation

/// A byte-level language model: the embeddings of a window of bytes, through tanh layers, to next-byte logits.
///
/// Parameters live in one flat `[Float]` so optimizers, pseudo-gradients, quantization and checkpoints
/// treat the model as a vector. Forward and backward are written out by hand over OpenBLAS.
public struct MLPModel: Sendable {
    public struct Shape: Sendable, Hashable {
        public var vocab: Int
        public var context: Int
        public var embedding: Int
        public var hidden: Int
        public var layers: Int

        public init(vocab: Int = 256, context: Int, embedding: Int, hidden: Int, layers: Int) {
            self.vocab = vocab
            self.context = context
            self.embedding = embedding
            self.hidden = hidden
            self.layers = layers
        }
    }

    /// Offsets of each tensor in the flat parameter vector.
    struct Layout {
        var embedding: Int
        var weights: [Int]
        var biases: [Int]
        var output: Int
        var outputBias: Int
        var count: Int
    }

    public let shape: Shape
    let layout: Layout

    public init(shape: Shape) {
        self.shape = shape
        var offset = 0
        func take(_ n: Int) -> Int {
            defer { offset += n }
            return offset
        }
        let embedding = take(shape.vocab * shape.embedding)
        var weights: [Int] = [], biases: [Int] = []
        for layer in 0..<shape.layers {
            let fanIn = layer == 0 ? shape.context * shape.embedding : shape.hidden
            weights.append(take(fanIn * shape.hidden))
            biases.append(take(shape.hidden))
        }
        let output = take(shape.hidden * shape.vocab)
        let outputBias = take(shape.vocab)
        layout = Layout(embedding: embedding, weights: weights, biases: biases, output: output, outputBias: outputBias, count: offset)
    }

    public var parameterCount: Int { layout.count }

    /// Xavier-uniform weights, small embeddings, zero biases; deterministic in `seed`.
    public func initialParameters(seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        var params = [Float](repeating: 0, count: layout.count)
        for i in 0..<(shape.vocab * shape.embedding) { params[layout.embedding + i] = rng.symmetric(0.5) }
        for layer in 0..<shape.layers {
            let fanIn = layer == 0 ? shape.context * shape.embedding : shape.hidden
            let limit = Float(sqrt(6.0 / Double(fanIn + shape.hidden)))
            for i in 0..<(fanIn * shape.hidden) { params[layout.weights[layer] + i] = rng.symmetric(limit) }
        }
        let limit = Float(sqrt(6.0 / Double(shape.hidden + shape.vocab)))
        for i in 0..<(shape.hidden * shape.vocab) { params[layout.output + i] = rng.symmetric(limit) }
        return params
    }

    /// Mean cross-entropy of predicting `targets[b]` from `inputs[b*context ..< (b+1)*context]`.
    public func loss(_ params: [Float], inputs: [UInt8], targets: [UInt8]) -> Float {
        var workspace = Workspace(model: self, batch: targets.count)
        return params.withUnsafeBufferPointer { p in
            forward(p, inputs: inputs, targets: targets, workspace: &workspace)
        }
    }

    /// Mean cross-entropy and its gradient (written into `gradient`, which must have `parameterCount` elements).
    public func lossAndGradient(_ params: [Float], inputs: [UInt8], targets: [UInt8], gradient: inout [Float]) -> Float {
        precondition(gradient.count == layout.count && params.count == layout.count)
        var workspace = Workspace(model: self, batch: targets.count)
        return params.withUnsafeBufferPointer { p in
            gradient.withUnsafeMutableBufferPointer { g in
                let loss = forward(p, inputs: inputs, targets: targets, workspace: &workspace)
                backward(p, g, inputs: inputs, targets: targets, workspace: &workspace)
                return loss
            }
        }
    }

    struct Workspace {
        var x: [Float]
        var activations: [[Float]]
        var probabilities: [Float]

        init(model: MLPModel, batch: Int) {
            let s = model.shape
            x = [Float](repeating: 0, count: batch * s.context * s.embedding)
            activations = (0..<s.layers).map { _ in [Float](repeating: 0, count: batch * s.hidden) }
            probabilities = [Float](repeating: 0, count: batch * s.vocab)
        }
    }
}

extension MLPModel {
    func forward(_ p: UnsafeBufferPointer<Float>, inputs: [UInt8], targets: [UInt8], workspace w: inout Workspace) -> Float {
        let s = shape, batch = targets.count, width = s.context * s.embedding
        let base = p.baseAddress!
        // Gather the window's embeddings into one row per example.
        for b in 0..<batch {
            for t in 0..<s.context {
                let token = Int(inputs[b * s.context + t])
                for e in 0..<s.embedding {
                    w.x[b * width + t * s.embedding + e] = p[layout.embedding + token * s.embedding + e]
                }
            }
        }
        for layer in 0..<s.layers {
            let fanIn = layer == 0 ? width : s.hidden
            let input = layer == 0 ? w.x : w.activations[layer - 1]
            input.withUnsafeBufferPointer { inp in
                w.activations[layer].withUnsafeMutableBufferPointer { out in
                    GEMM.multiply(inp.baseAddress!, base + layout.weights[layer], into: out.baseAddress!, m: batch, n: s.hidden, k: fanIn)
                    for b in 0..<batch {
                        for j in 0..<s.hidden { out[b * s.hidden + j] = tanhf(out[b * s.hidden + j] + p[layout.biases[layer] + j]) }
                    }
                }
            }
        }
        var total: Double = 0
        w.activations[s.layers - 1].withUnsafeBufferPointer { h in
            w.probabilities.withUnsafeMutableBufferPointer { out in
                GEMM.multiply(h.baseAddress!, base + layout.output, into: out.baseAddress!, m: batch, n: s.vocab, k: s.hidden)
                for b in 0..<batch {
                    let row = out.baseAddress! + b * s.vocab
                    var maximum = -Float.infinity
                    for v in 0..<s.vocab {
                        row[v] += p[layout.outputBias + v]
                        maximum = max(maximum, row[v])
                    }
                    var sum: Float = 0
                    for v in 0..<s.vocab {
                        row[v] = expf(row[v] - maximum)
                        sum += row[v]
                    }
                    for v in 0..<s.vocab { row[v] /= sum }
                    total -= Double(logf(max(row[Int(targets[b])], 1e-30)))
                }
            }
        }
        return Float(total / Double(batch))
    }

    func backward(_ p: UnsafeBufferPointer<Float>, _ g: UnsafeMutableBufferPointer<Float>, inputs: [UInt8], targets: [UInt8], workspace w: inout Workspace) {
        let s = shape, batch = targets.count, width = s.context * s.embedding
        let base = p.baseAddress!, grad = g.baseAddress!
        for i in 0..<g.count { g[i] = 0 }
        // dLogits = (softmax - onehot) / batch, in place over the probabilities.
        let scale = 1 / Float(batch)
        for b in 0..<batch {
            for v in 0..<s.vocab { w.probabilities[b * s.vocab + v] *= scale }
            w.probabilities[b * s.vocab + Int(targets[b])] -= scale
        }
        var upstream = [Float](repeating: 0, count: batch * s.hidden)
        w.probabilities.withUnsafeBufferPointer { d in
            w.activations[s.layers - 1].withUnsafeBufferPointer { h in
                GEMM.multiply(h.baseAddress!, transposeA: true, d.baseAddress!, into: grad + layout.output, m: s.hidden, n: s.vocab, k: batch)
            }
            for b in 0..<batch {
                for v in 0..<s.vocab { g[layout.outputBias + v] += d[b * s.vocab + v] }
            }
            upstream.withUnsafeMutableBufferPointer { u in
                GEMM.multiply(d.baseAddress!, base + layout.output, transposeB: true, into: u.baseAddress!, m: batch, n: s.hidden, k: s.vocab)
            }
        }
        var dx = [Float](repeating: 0, count: batch * width)
        for layer in stride(from: s.layers - 1, through: 0, by: -1) {
            let fanIn = layer == 0 ? width : s.hidden
            // Through tanh: dA = dH * (1 - H^2).
            let h = w.activations[layer]
            for i in 0..<upstream.count { upstream[i] *= 1 - h[i] * h[i] }
            let input = layer == 0 ? w.x : w.activations[layer - 1]
            upstream.withUnsafeBufferPointer { da in
                input.withUnsafeBufferPointer { inp in
                    GEMM.multiply(inp.baseAddress!, transposeA: true, da.baseAddress!, into: grad + layout.weights[layer], m: fanIn, n: s.hidden, k: batch)
                }
                for b in 0..<batch {
                    for j in 0..<s.hidden { g[layout.biases[layer] + j] += da[b * s.hidden + j] }
                }
                if layer == 0 {
                    dx.withUnsafeMutableBufferPointer { out in
                        GEMM.multiply(da.baseAddress!, base + layout.weights[0], transposeB: true, into: out.baseAddress!, m: batch, n: width, k: s.hidden)
                    }
                }
            }
            if layer > 0 {
                var next = [Float](repeating: 0, count: batch * s.hidden)
                upstream.withUnsafeBufferPointer { da in
                    next.withUnsafeMutableBufferPointer { out in
                        GEMM.multiply(da.baseAddress!, base + layout.weights[layer], transposeB: true, into: out.baseAddress!, m: batch, n: s.hidden, k: s.hidden)
                    }
                }
                upstream = next
            }
        }
        // Scatter the window gradient back onto the embeddings of the bytes that were read.
        for b in 0..<batch {
            for t in 0..<s.context {
                let token = Int(inputs[b * s.context + t])
                for e in 0..<s.embedding { g[layout.embedding + token * s.embedding + e] += dx[b * width + t * s.embedding + e] }
            }
        }
    }
}
