import ArgumentParser
import Foundation
import IntermeshSpec

/// `intermesh validate FILE...`: every problem of every file, compiler style.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check run specs; exit 0 when all are valid, 1 when any is invalid, 2 on usage or I/O errors.")

    @Argument(help: "Spec files to check.")
    var files: [String]

    @Flag(help: "Print each valid spec's canonical form (every default filled in).")
    var canonical = false

    @Option(name: .shortAndLong, help: "Output: text (diagnostics on stderr) or json (a report on stdout).")
    var output: OutputFormat = .text

    func run() throws {
        let loader = SpecLoader()
        var invalid = false
        var unreadable = false
        var reports: [[String: Any]] = []
        for file in files {
            let loaded: LoadedSpec
            do {
                loaded = try loader.load(path: file)
            } catch {
                unreadable = true
                Terminal.stderr.write(Terminal.stderr.paint("error:", .error) + " \(error)\n")
                reports.append(["file": file, "valid": false, "error": error.message])
                continue
            }
            invalid = invalid || !loaded.isValid
            switch output {
            case .text:
                report(loaded)
            case .json:
                reports.append(jsonReport(loaded))
            }
        }
        if output == .json {
            let data = try JSONSerialization.data(withJSONObject: reports, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            Terminal.stdout.write(String(decoding: data, as: UTF8.self) + "\n")
        }
        if unreadable { throw ExitCode(2) }
        if invalid { throw ExitCode(1) }
    }

    private func report(_ loaded: LoadedSpec) {
        let err = Terminal.stderr
        let renderer = DiagnosticRenderer(fileName: loaded.source.name, text: loaded.source.text, style: err.diagnosticStyle)
        for diagnostic in loaded.diagnostics {
            err.write(renderer.render(diagnostic) + "\n")
        }
        let errors = loaded.diagnostics.filter(\.isError).count
        let warnings = loaded.diagnostics.count - errors
        if let run = loaded.validRun {
            if canonical {
                Terminal.stdout.write("# \(loaded.source.name) (\(run.contentHash))\n---\n" + run.canonicalYAML())
            } else {
                let note = warnings > 0 ? " (\(warnings) warning\(warnings == 1 ? "" : "s"))" : ""
                Terminal.stdout.write("\(loaded.source.name): \(Terminal.stdout.paint("valid", .good))\(note)\n")
            }
        } else {
            err.write("\(loaded.source.name): \(err.paint("invalid", .error)): \(errors) error\(errors == 1 ? "" : "s")"
                      + (warnings > 0 ? ", \(warnings) warning\(warnings == 1 ? "" : "s")" : "") + "\n")
        }
    }

    private func jsonReport(_ loaded: LoadedSpec) -> [String: Any] {
        var out: [String: Any] = [
            "file": loaded.source.name,
            "valid": loaded.isValid,
            "diagnostics": loaded.diagnostics.map { diagnostic -> [String: Any] in
                var item: [String: Any] = ["severity": diagnostic.severity.rawValue, "message": diagnostic.message]
                if let location = diagnostic.location {
                    item["line"] = location.line
                    item["column"] = location.column
                }
                if !diagnostic.path.isEmpty { item["path"] = diagnostic.path }
                return item
            },
        ]
        if let run = loaded.validRun {
            out["contentHash"] = run.contentHash
            if canonical, let object = try? JSONSerialization.jsonObject(with: run.canonicalJSON()) { out["canonical"] = object }
        }
        return out
    }
}
