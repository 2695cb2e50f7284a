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

    @Option(help: "Managed membership through this control plane (default: $INTERMESH_SERVER).")
    var server: String?

    @Option(help: "File holding the agent token of this run and site (default: $INTERMESH_TOKEN_FILE).")
    var tokenFile: String?

    @Option(help: "This incarnation's member id (default: $INTERMESH_MEMBER_ID, else a new UUID).")
    var memberId: String?

    @Option(help: "Stop after this many outer steps (default: the spec's training.outerSteps).")
    var outerSteps: Int?

    @Option(help: "Directory that relative data paths start from (default: $INTERMESH_DATA_DIR, else the current directory).")
    var dataDir: String?

    @Option(help: "Checkpoint directory (default: $INTERMESH_CHECKPOINT_DIR, else <checkpoint.path>/<site>/replica-<i>).")
    var checkpointDir: String?

    @Option(help: "Seconds an outer all-reduce may stall before the step fails (default: the heartbeat timeout).")
    var syncTimeout: Double?

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let planPath = plan ?? environment["INTERMESH_PLAN"], let slot = slot ?? environment["INTERMESH_SLOT"] else {
            throw ValidationError("--plan and --slot (or INTERMESH_PLAN and INTERMESH_SLOT) are required")
        }
        let mode: TrainerConfig.Mode
        if standalone {
            mode = .standalone
        } else if let server = server ?? environment["INTERMESH_SERVER"] {
            guard let file = tokenFile ?? environment["INTERMESH_TOKEN_FILE"],
                  let token = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("managed mode needs --token-file (or INTERMESH_TOKEN_FILE) with an agent token")
            }
            let id = memberId ?? environment["INTERMESH_MEMBER_ID"] ?? UUID().uuidString.lowercased()
            let incarnation = environment["INTERMESH_INCARNATION"].flatMap { Int($0) } ?? 1
            mode = .managed(server: server, token: token.trimmingCharacters(in: .whitespacesAndNewlines), memberId: id, incarnation: incarnation)
        } else {
            throw ValidationError("choose --standalone (static peers) or --server URL (managed by intermesh serve)")
        }
        let group = MPIGroup()
        defer { group.finish() }
        do {
            let config = try TrainerConfig(planPath: planPath, slot: slot, mode: mode, outerSteps: outerSteps,
                                           dataDirectory: dataDir ?? environment["INTERMESH_DATA_DIR"],
                                           checkpointDirectory: checkpointDir ?? environment["INTERMESH_CHECKPOINT_DIR"], syncTimeout: syncTimeout,
                                           revision: standalone ? 0 : environment["INTERMESH_REVISION"].flatMap { Int($0) } ?? 0)
            let status = try Trainer(config: config, group: group).run()
            if status != 0 { throw ExitCode(status) }
        } catch let error as ExitCode {
            throw error
        } catch {
            FileHandle.standardError.write(Data("intermesh-trainer: error: \(error)\n".utf8))
            // The other ranks of the replica wait for this one in a collective: end them too.
            group.abort(2)
        }
    }
}
