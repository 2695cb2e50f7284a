import Foundation
import IntermeshPlan
import IntermeshSpec

/// Everything one replica needs, resolved from the compiled plan and its slot.
public struct TrainerConfig: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// How the replica learns its quorums.
    public enum Mode: Sendable {
        /// The plan's replicas are static peers.
        case standalone
        /// Through the control plane: URL, bearer token, this incarnation's member id and number.
        case managed(server: String, token: String, memberId: String, incarnation: Int)
    }

    public var mode: Mode
    public var plan: Plan
    public var site: SitePlan
    public var replica: ReplicaPlan
    public var peers: [PeerAddress]
    public var shape: MLPModel.Shape
    /// The launch revision's training settings; a rollout replaces them at its activation step.
    public var settings: TrainingSettings
    /// `--outer-steps`: wins over every revision's.
    public var outerStepsOverride: Int?
    public var checkpointDirectory: URL
    public var dataDirectory: URL
    /// `--sync-timeout`: wins over every revision's (which follows its heartbeat timeout).
    public var syncTimeoutOverride: Double?

    public var me: Int { replica.globalIndex }
    public var spec: RunSpec { plan.run.spec }

    public init(planPath: String, slot: String, mode: Mode, outerSteps: Int?, dataDirectory: String?, checkpointDirectory: String?,
                syncTimeout: Double?, revision: Int = 0) throws {
        self.mode = mode
        guard let data = FileManager.default.contents(atPath: planPath) else { throw Failure(description: "\(planPath): cannot read the plan") }
        do {
            plan = try JSONDecoder().decode(Plan.self, from: data)
        } catch {
            throw Failure(description: "\(planPath): not a plan: \(error)")
        }
        guard let (site, replica) = plan.replica(slot: slot) else {
            throw Failure(description: "slot '\(slot)' is not in the plan (slots: \(plan.sites.flatMap(\.replicas).map(\.slot).prefix(8).joined(separator: ", ")))")
        }
        self.site = site
        self.replica = replica
        let spec = plan.run.spec
        guard spec.model.kind == .mlp, spec.model.vocabSize == 256 else {
            throw Failure(description: "the reference engine trains the byte-level mlp model (model.kind: mlp, vocabSize: 256)")
        }
        shape = MLPModel.Shape(vocab: 256, context: spec.model.sequenceLength, embedding: spec.model.embeddingSize,
                               hidden: spec.model.hiddenSize, layers: spec.model.layers)
        peers = plan.sites.flatMap { site in
            site.replicas.map { PeerAddress(index: $0.globalIndex, id: $0.slot, host: $0.host, controlPort: $0.ports.recovery, ringPort: $0.ports.ring) }
        }.sorted { $0.index < $1.index }
        outerStepsOverride = outerSteps
        settings = TrainingSettings(plan: plan, site: site.name, revision: revision, outerSteps: outerSteps)
        let training = spec.training
        let workingDirectory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        self.dataDirectory = dataDirectory.map { URL(fileURLWithPath: $0) } ?? workingDirectory
        self.checkpointDirectory = checkpointDirectory.map { URL(fileURLWithPath: $0) }
            ?? workingDirectory.appendingPathComponent(training.checkpoint.path).appendingPathComponent(site.name)
                .appendingPathComponent("replica-\(replica.index)")
        syncTimeoutOverride = syncTimeout
    }
}
