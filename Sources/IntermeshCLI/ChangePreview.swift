import Foundation
import IntermeshAPI
import IntermeshClient
import IntermeshPlan
import IntermeshSpec

/// A spec file against a run's active revision: what `diff -f` and `apply --dry-run` show.
enum ChangePreview {
    /// Loads and checks the file, then compares it with the active revision of the run it names.
    static func report(file: String, client: APIClient) async throws -> ChangeReport {
        let (loaded, _) = try SpecFile.load(file)
        guard let run = loaded.validRun else { throw CLIError("\(file) is invalid", code: 2) }
        let name = run.metadata.name
        let new = Planner.compile(run)
        let description: RunDescription
        do {
            description = try await client.describe(run: name)
        } catch let error as APIClientError where error.status == 404 {
            return ChangeReport.newRun(name, plan: new)
        } catch let error as APIClientError {
            throw CLIError(error.description, code: 2)
        }
        do {
            let record = try await client.revision(of: name, number: description.activeRevision)
            let old = try JSONDecoder().decode(Plan.self, from: Data(record.plan.utf8))
            return ChangeReport(run: name, revision: record.number, old: old, new: new)
        } catch let error as APIClientError {
            throw CLIError(error.description, code: 2)
        }
    }

    static func write(_ report: ChangeReport, format: DataFormat) throws {
        switch format {
        case .table:
            let out = Terminal.stdout
            out.write(report.render { text, colour in
                switch colour {
                case .plain: return text
                case .good: return out.paint(text, .good)
                case .warning: return out.paint(text, .warning)
                case .bad: return out.paint(text, .error)
                case .dim: return out.paint(text, .dim)
                }
            })
        case .json, .yaml:
            Terminal.stdout.write(try Rendering.render(report, table: [], format: format))
        }
    }
}
