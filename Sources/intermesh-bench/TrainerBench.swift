import Foundation
import IntermeshTrainer

/// `intermesh-bench trainer`: inner-step throughput of the reference model, and ring all-reduce cost
/// (time and bytes from the sockets' counters) against parameter count, int8 against fp32.
enum TrainerBench {
    static func run(innerSteps: Int) {
        communication(innerSteps: innerSteps)
        throughput()
        syncTimes()
    }

    /// specs/local.yaml's model (267,008 parameters), one core, batch 16 of 32-byte windows.
    static func throughput() {
        let model = MLPModel(shape: .init(vocab: 256, context: 32, embedding: 16, hidden: 256, layers: 2))
        var params = model.initialParameters(seed: 1)
        var adam = AdamW(count: params.count, beta1: 0.9, beta2: 0.95, weightDecay: 0.1, gradClip: 1)
        var rng = SeededRandom(seed: 2)
        let batch = 16
        let inputs = (0..<(batch * 32)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let targets = (0..<batch).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var gradient = [Float](repeating: 0, count: params.count)
        let steps = 300
        let start = ContinuousClock.now
        for _ in 0..<steps {
            _ = model.lossAndGradient(params, inputs: inputs, targets: targets, gradient: &gradient)
            adam.update(&params, gradient: gradient, lr: 1e-3)
        }
        let seconds = seconds(ContinuousClock.now - start)
        let tokens = Double(steps * batch * 32)
        print("inner steps: \(model.parameterCount) parameters, batch \(batch) x 32 bytes, 1 core: "
              + String(format: "%.1f ms/step, %.0f tokens/s", seconds / Double(steps) * 1000, tokens / seconds))
    }

    /// Bytes one replica sends per outer step (int8 and fp32), against fp32 data-parallel training that
    /// all-reduces the gradient every inner step: both measured on loopback sockets with 3 members.
    static func communication(innerSteps: Int) {
        for parameters in [267_008, 2_000_000] {
            let int8 = allReduce(parameters: parameters, members: 3, quantize: true)
            let fp32 = allReduce(parameters: parameters, members: 3, quantize: false)
            let dataParallel = Double(fp32.bytes) * Double(innerSteps)
            print("communication: \(parameters) parameters, 3 replicas, H=\(innerSteps): per replica per outer step "
                  + "int8 \(int8.bytes) B, fp32 \(fp32.bytes) B; fp32 data parallel over the same \(innerSteps) steps "
                  + String(format: "%.0f B; ratio int8 %.1fx, no quantization %.1fx", dataParallel,
                           dataParallel / Double(int8.bytes), dataParallel / Double(fp32.bytes)))
        }
    }

    /// Each size without and with the data-plane key (every message tagged with HMAC-SHA256), interleaved, the
    /// median of five runs of each.
    static func syncTimes() {
        let key = DataPlaneKey(hex: String(repeating: "5a", count: 32))
        for parameters in [100_000, 1_000_000, 4_000_000, 16_000_000] {
            var row: [String] = []
            for quantize in [true, false] {
                var plain: [Double] = [], tagged: [Double] = []
                for _ in 0..<5 {
                    plain.append(allReduce(parameters: parameters, members: 3, quantize: quantize).seconds)
                    tagged.append(allReduce(parameters: parameters, members: 3, quantize: quantize, key: key).seconds)
                }
                row.append(String(format: "%@ %.1f ms, authenticated %.1f ms", quantize ? "int8" : "fp32",
                                  plain.sorted()[2] * 1000, tagged.sorted()[2] * 1000))
            }
            print("outer sync on loopback, 3 members: \(parameters) parameters: " + row.joined(separator: "; "))
        }
    }

    /// One all-reduce with `members` threads on loopback; bytes are member 0's sent count (hello included).
    static func allReduce(parameters: Int, members: Int, quantize: Bool, key: DataPlaneKey? = nil) -> (bytes: Int, seconds: Double) {
        let endpoints = (0..<members).map { _ in try! RingEndpoint(port: 0, host: "127.0.0.1", key: key) }
        defer { endpoints.forEach { $0.stop() } }
        let peers = endpoints.enumerated().map { RingPeer(id: "m\($0.offset)", host: "127.0.0.1", port: $0.element.port) }
        let vectors = (0..<members).map { member -> [Float] in
            var rng = SeededRandom(seed: UInt64(member))
            return (0..<parameters).map { _ in rng.symmetric(0.01) }
        }
        nonisolated(unsafe) var sent = 0
        let group = DispatchGroup()
        let start = ContinuousClock.now
        for member in 0..<members {
            group.enter()
            Thread {
                let outcome = try! RingAllReduce.run(vectors[member], peers: peers, me: member, quorum: 1, quantize: quantize,
                                                     endpoint: endpoints[member], timeout: 30)
                if member == 0 { sent = outcome.bytesSent }
                group.leave()
            }.start()
        }
        group.wait()
        return (sent, seconds(ContinuousClock.now - start))
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
