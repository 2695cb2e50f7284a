import ArgumentParser
import Foundation
import IntermeshAPI
import IntermeshClient

/// `intermesh diff RUN`: desired against actual per site. `intermesh diff -f FILE`: the file against the run's
/// active revision, field by field with each change's class. Exit 0 same, 1 differences, 2 error.
struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show desired against actual replicas per site, or a spec file against the active revision (-f).",
        discussion: "Exit 0 when in sync (or the same), 1 when they differ, 2 on an error.")

    @Argument(help: "The run (not with -f: the file names its run).")
    var run: String?

    @Option(name: .shortAndLong, help: "Compare this spec file with its run's active revision.")
    var file: String?

    @Option(name: .shortAndLong, help: "table or json.")
    var output: DataFormat = .table

    @OptionGroup var client: ClientOptions

    func validate() throws {
        if (run == nil) == (file == nil) { throw ValidationError("give either a run or -f FILE") }
    }

    func run() async throws {
        if let file {
            let report = try await ChangePreview.report(file: file, client: try client.client())
            try ChangePreview.write(report, format: output)
            if report.differs { throw ExitCode(1) }
            return
        }
        let diff: MeshDiff
        do {
            diff = try await client.client().diff(of: run ?? "")
        } catch let error as APIClientError {
            throw CLIError(error.description, code: 2)
        }
        switch output {
        case .table:
            let out = Terminal.stdout
            var rows = [["SITE", "DESIRED", "LIVE", "MISSING", "EXTRA", "STALE", "REVISION SKEW"]]
            for site in diff.sites {
                rows.append([site.site, String(site.desired), String(site.live), list(site.missing), list(site.extra),
                             list(site.stale), list(site.skewed)])
            }
            var text = Rendering.render(rows: rows)
            let differing = diff.sites.filter { !$0.inSync }.count
            text += diff.inSync ? out.paint("in sync", .good) + "\n"
                : out.paint("\(differing) site\(differing == 1 ? "" : "s") differ", .warning) + "\n"
            out.write(text)
        case .json, .yaml:
            Terminal.stdout.write(try Rendering.render(diff, table: [], format: output))
        }
        if !diff.inSync { throw ExitCode(1) }
    }

    func list(_ items: [String]) -> String { items.isEmpty ? "-" : items.joined(separator: ",") }
}

extension Rendering {
    static func render(rows: [[String]]) -> String {
        (try? render([String](), table: rows, format: .table)) ?? ""
    }
}
