import IntermeshPlan
import IntermeshSpec
import Testing

@Suite struct EstimatorTests {
    /// INTELLECT-1: 100 inner steps took about 38 minutes on 8 x H100; outer syncs 1.5 to 8 minutes at 0.5-4 Gb/s.
    @Test func intellectOneIsPlausible() throws {
        let run = try Repo.run("specs/intellect-1.yaml")
        let (sites, estimate) = Estimator.estimate(run: run)
        #expect(estimate.parameters > 10_000_000_000 && estimate.parameters < 10_500_000_000)
        for site in sites.values {
            #expect(site.computeSeconds > 33 * 60 && site.computeSeconds < 43 * 60)
            #expect(site.syncSeconds > 60 && site.syncSeconds < 11 * 60)
        }
        #expect(estimate.bottleneckSite == "asia-south-1")
        #expect(estimate.ringMembers == 14)
    }

    @Test func int8SendsAQuarterOfFP32() {
        let int8 = Estimator.payloadBytes(parameters: 100_000_000, quantization: .int8)
        let fp32 = Estimator.payloadBytes(parameters: 100_000_000, quantization: .none)
        #expect(fp32 == 400_000_000)
        #expect(int8 > 100_000_000 && int8 < 100_200_000)
    }

    @Test func suggestedInnerStepsReachTheTarget() throws {
        let run = try Repo.run("specs/intellect-1.yaml")
        let (sites, _) = Estimator.estimate(run: run)
        let slow = try #require(sites["asia-south-1"])
        let needed = try #require(slow.innerStepsForTarget)
        let perStep = slow.computeSeconds / Double(run.spec.training.innerSteps)
        let target = run.spec.estimate.targetUtilization
        func utilization(_ h: Int) -> Double { perStep * Double(h) / (perStep * Double(h) + slow.syncSeconds) }
        #expect(utilization(needed) >= target)
        #expect(utilization(needed - 1) < target)
        #expect(sites["us-west-1"]?.innerStepsForTarget == nil)
    }

    @Test func aSingleReplicaNeverSyncs() throws {
        let run = try Repo.run(text: tinySpec.replacingOccurrences(of: "replicas: 2", with: "replicas: 1"))
        let (sites, estimate) = Estimator.estimate(run: run)
        #expect(sites["alpha"]?.syncSeconds == 0)
        #expect(estimate.utilization == 1)
    }
}
