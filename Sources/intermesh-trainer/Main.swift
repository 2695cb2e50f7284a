import ArgumentParser
import Foundation
import IntermeshTrainer

/// `intermesh-trainer`: the reference engine. Trains one replica of a compiled plan.
@main
struct TrainerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intermesh-trainer",
        abstract: "The reference engine: trains one DiLoCo replica of a compiled Intermesh plan.")

    @Option(help: "The plan (default: $INTERMESH_PLAN).")
    var plan: String?

    @Option(help: "This replica's slot, such as alpha/0 (default: $INTERMESH_SLOT).")
    var slot: String?

    @Flag(help: "Static membership: the plan's replicas are the peers; no control plane.")
    var standalone = false

    @Option(help: "Stop after this many outer steps (default: the spec's training.outerSteps).")
    var outerSteps: Int?

    @Option(help: "Directory that relative data paths start from (default: the current directory).")
    var dataDir: String?

    @Option(help: "Checkpoint directory (default: <checkpoint.path>/<site>/replica-<i>).")
    var checkpointDir: String?

    @Option(help: "Seconds an outer all-reduce may stall before the step fails (default: the heartbeat timeout).")
    var syncTimeout: Double?

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let planPath = plan ?? environment["INTERMESH_PLAN"], let slot = slot ?? environment["INTERMESH_SLOT"] else {
            throw ValidationError("--plan and --slot (or INTERMESH_PLAN and INTERMESH_SLOT) are required")
        }
        guard standalone else {
            throw ValidationError("managed mode needs the control plane; run with --standalone for static membership")
        }
        let group = MPIGroup()
        defer { group.finish() }
        do {
            let config = try TrainerConfig(planPath: planPath, slot: slot, outerSteps: outerSteps, dataDirectory: dataDir,
                                           checkpointDirectory: checkpointDir, syncTimeout: syncTimeout)
            let status = try Trainer(config: config, group: group).run()
            if status != 0 { throw ExitCode(status) }
        } catch let error as ExitCode {
            throw error
        } catch {
            FileHandle.standardError.write(Data("intermesh-trainer: error: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
