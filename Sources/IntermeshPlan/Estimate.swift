import IntermeshSpec

/// A site's share of one outer step: H inner steps of compute, then its part of the ring all-reduce.
public struct SiteEstimate: Codable, Sendable, Hashable {
    /// Tokens one replica processes per inner step.
    public var tokensPerInnerStep: Int
    /// FLOPs of one inner step of one replica (6 x parameters x tokens).
    public var flopsPerInnerStep: Double
    /// Seconds of H inner steps at the assumed MFU.
    public var computeSeconds: Double
    /// Bytes one member sends in the ring all-reduce of the pseudo-gradient.
    public var bytesPerSync: Double
    /// Seconds of that all-reduce at this site's bandwidth.
    public var syncSeconds: Double
    /// computeSeconds / (computeSeconds + syncSeconds).
    public var utilization: Double
    /// Smallest H reaching the run's target utilization at this site, when the current H doesn't.
    public var innerStepsForTarget: Int?
}

/// The run's outer step: the slowest site's compute gates the quorum and the slowest link gates the ring.
public struct RunEstimate: Codable, Sendable, Hashable {
    public var parameters: Int
    public var ringMembers: Int
    public var pseudoGradientBytes: Double
    /// Ring all-reduce time at the slowest participating link.
    public var syncSeconds: Double
    public var bottleneckSite: String?
    public var outerStepSeconds: Double
    /// Replica-weighted compute time over outer-step time.
    public var utilization: Double
    public var targetUtilization: Double
    /// Sites whose own utilization is below the target.
    public var sitesBelowTarget: [String]
}

/// The bandwidth-aware model behind `plan`'s summary.
public enum Estimator {
    /// Elements per quantization chunk; each chunk sends a 256-entry fp32 lookup table with its bytes.
    public static let quantizationChunk = 1 << 20

    /// Bytes of one member's pseudo-gradient on the wire.
    public static func payloadBytes(parameters: Int, quantization: TrainingSpec.Quantization) -> Double {
        switch quantization {
        case .none:
            return Double(parameters) * 4
        case .int8:
            let chunks = (parameters + quantizationChunk - 1) / quantizationChunk
            return Double(parameters) + Double(chunks * 256 * 4)
        }
    }

    public static func estimate(run: TrainingRun) -> (sites: [String: SiteEstimate], run: RunEstimate) {
        let spec = run.spec
        let parameters = spec.model.parameterCount
        let members = spec.totalReplicas
        let payload = payloadBytes(parameters: parameters, quantization: spec.training.quantization)
        // Ring all-reduce (reduce-scatter + all-gather): each member sends 2 (R-1)/R of the payload.
        let ringBytes = members > 1 ? 2 * Double(members - 1) / Double(members) * payload : 0
        let target = spec.estimate.targetUtilization
        let h = spec.training.innerSteps

        var sites: [String: SiteEstimate] = [:]
        for site in spec.sites {
            let tokens = (site.batchSize ?? spec.training.batchSize) * spec.model.sequenceLength
            let flops = 6 * Double(parameters) * Double(tokens)
            let peak = (site.gpu.peakFLOPS ?? 0) * Double(site.gpu.count) * spec.estimate.mfu
            let perStep = peak > 0 ? flops / peak : .infinity
            let compute = perStep * Double(h)
            let sync = ringBytes * 8 / (site.bandwidth.bitsPerSecond * spec.estimate.linkEfficiency)
            let utilization = compute + sync > 0 ? compute / (compute + sync) : 1
            var needed: Int?
            if utilization < target, perStep.isFinite, perStep > 0 {
                needed = Int((target * sync / (perStep * (1 - target))).rounded(.up))
            }
            sites[site.name] = SiteEstimate(
                tokensPerInnerStep: tokens, flopsPerInnerStep: flops, computeSeconds: compute,
                bytesPerSync: ringBytes, syncSeconds: sync, utilization: utilization, innerStepsForTarget: needed)
        }

        let active = spec.sites.filter { $0.replicas > 0 }
        let slowest = active.min { $0.bandwidth.bitsPerSecond < $1.bandwidth.bitsPerSecond }
        let ringSync = slowest.flatMap { sites[$0.name]?.syncSeconds } ?? 0
        let slowestCompute = active.compactMap { sites[$0.name]?.computeSeconds }.max() ?? 0
        let outer = slowestCompute + ringSync
        var busy = 0.0
        for site in active { busy += Double(site.replicas) * (sites[site.name]?.computeSeconds ?? 0) }
        let utilization = outer > 0 && members > 0 ? busy / (Double(members) * outer) : 1
        let below = spec.sites.filter { (sites[$0.name]?.utilization ?? 1) < target }.map(\.name)
        let runEstimate = RunEstimate(
            parameters: parameters, ringMembers: members, pseudoGradientBytes: payload, syncSeconds: ringSync,
            bottleneckSite: members > 1 ? slowest?.name : nil, outerStepSeconds: outer, utilization: utilization,
            targetUtilization: target, sitesBelowTarget: below)
        return (sites, runEstimate)
    }
}
