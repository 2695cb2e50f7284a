import ArgumentParser
import Foundation
import IntermeshClient
import IntermeshSpec

/// `intermesh apply -f FILE`: submit a spec; a new revision, or nothing when it is unchanged.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Submit a run spec to the control plane: create the run or add a revision.")

    @Option(name: .shortAndLong, help: "The run spec.")
    var file: String

    @Option(help: "Refuse unless the run's current revision is N (0: the run must be new), like nomad job run -check-index.")
    var checkRevision: Int?

    @Flag(help: "Show what would change (as diff -f does) and apply nothing; exit 0 same, 1 differs, 2 error.")
    var dryRun = false

    @Option(name: .shortAndLong, help: "With --dry-run: table or json.")
    var output: DataFormat = .table

    @OptionGroup var client: ClientOptions

    func run() async throws {
        if dryRun {
            let report = try await ChangePreview.report(file: file, client: try client.client())
            try ChangePreview.write(report, format: output)
            if report.differs { throw ExitCode(1) }
            return
        }
        // Check locally first: errors point at the file with line, column and caret.
        let (loaded, _) = try SpecFile.load(file)
        guard loaded.isValid else { throw CLIError("\(file) is invalid; nothing was applied", code: 1) }

        do {
            let response = try await client.client().apply(spec: loaded.source.text, checkRevision: checkRevision)
            let verb = switch response.outcome {
            case .unchanged: "unchanged at"
            case .created: "created with"
            case .updated: "updated to"
            }
            Terminal.stdout.write("run \(response.run) \(verb) revision \(response.revision) (\(response.contentHash.prefix(19)))\n")
            if let rollout = response.rollout { Terminal.stdout.write("rollout \(rollout)\n") }
        } catch let error as APIClientError {
            throw error.cliError
        }
    }
}
