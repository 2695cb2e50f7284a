import ArgumentParser
import Foundation
import IntermeshPlan
import IntermeshSpec

/// `intermesh plan FILE [--out DIR]`: compile a spec into per-site launch plans and estimate its speed.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Compile a run spec into per-site launch plans, with a bandwidth-aware time estimate.")

    @Argument(help: "The run spec.")
    var file: String

    @Option(help: "Write DIR/plan.json and DIR/sites/<site>/... (deterministic: same spec, same bytes).")
    var out: String?

    @Option(name: .shortAndLong, help: "text (a summary) or json (the plan).")
    var output: OutputFormat = .text

    @Option(help: "Launch templates directory (default: $INTERMESH_TEMPLATES, then templates/ of the installation).")
    var templates: String?

    func run() throws {
        let (loaded, renderer) = try SpecFile.load(file)
        guard let run = loaded.validRun else {
            throw CLIError("\(file) is invalid; nothing was planned", code: 1)
        }
        var plan = Planner.compile(run)
        var files: [RenderedFile] = []
        if out != nil || output == .json {
            guard let directory = TemplateSet.locate(explicit: templates) else {
                throw CLIError("launch templates not found; pass --templates DIR or set INTERMESH_TEMPLATES")
            }
            do {
                files = try LaunchRenderer(templates: TemplateSet(directory: directory)).render(&plan)
            } catch {
                throw CLIError(error.description)
            }
        }
        for warning in PlanSummary.warnings(plan) {
            let index = run.spec.sites.firstIndex { $0.name == warning.site } ?? 0
            let diagnostic = Diagnostic.warning(warning.message, at: loaded.location(of: "spec.sites[\(index)].bandwidth"))
            Terminal.stderr.write(renderer.render(diagnostic) + "\n")
        }
        if let out {
            do {
                try PlanWriter.write(plan, files: files, to: out)
            } catch {
                throw CLIError(error.description)
            }
        }
        switch output {
        case .json:
            Terminal.stdout.write(String(decoding: PlanWriter.json(plan), as: UTF8.self))
        case .text:
            var text = PlanSummary.text(plan)
            if let out {
                text += "\nwrote \(out)/plan.json and \(files.count) launch files for \(plan.sites.count) sites\n"
            }
            Terminal.stdout.write(text)
        }
    }
}
