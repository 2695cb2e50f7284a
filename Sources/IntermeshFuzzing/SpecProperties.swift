import Foundation
import IntermeshPlan
import IntermeshSpec

/// The spec loader's promises for any bytes: it never crashes; a refusal carries an error; every location it
/// reports is inside the file; a valid spec's canonical YAML loads again to the same run (same content hash) and
/// compiles to a plan.
enum SpecProperties {
    static func check(_ data: Data) -> String? {
        let loader = SpecLoader()
        let loaded: LoadedSpec
        switch SpecSource.decode(name: "fuzz.yaml", data: data) {
        case let .success(source): loaded = loader.load(source)
        case let .failure(diagnostic):
            return diagnostic.severity == .error ? nil : "a refused file's diagnostic is not an error: \(diagnostic.message)"
        }
        let lineCount = SpecSource.lines(of: loaded.source.text).count
        for diagnostic in loaded.diagnostics {
            if diagnostic.message.isEmpty { return "a diagnostic has no message" }
            if let location = diagnostic.location, location.line < 1 || location.column < 1 || location.line > lineCount + 1 {
                return "diagnostic '\(diagnostic.message)' is at \(location), outside the file's \(lineCount) lines"
            }
        }
        // Rendering must cope with whatever the loader reported.
        _ = DiagnosticRenderer(fileName: "fuzz.yaml", text: loaded.source.text).render(loaded.diagnostics)
        guard loaded.run != nil else {
            return loaded.diagnostics.hasErrors ? nil : "the document did not decode but no error says why"
        }
        guard let run = loaded.validRun else { return nil }
        let again = loader.load(name: "canonical.yaml", text: run.canonicalYAML())
        guard let reloaded = again.validRun else {
            let first = again.diagnostics.first.map { "\($0.location.map { "\($0): " } ?? "")\($0.message)" } ?? "no diagnostic"
            return "a valid spec's canonical YAML does not load again: \(first)"
        }
        guard reloaded.contentHash == run.contentHash else {
            let changed = SpecDiff(old: run, new: reloaded).changes.map { "\($0.path): \($0.old ?? "-") -> \($0.new ?? "-")" }
            return "a valid spec's canonical YAML loads to a different run: \(changed.isEmpty ? "content hash differs" : changed.joined(separator: "; "))"
        }
        _ = Planner.compile(run)
        return nil
    }
}
