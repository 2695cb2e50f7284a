import IntermeshSpec

/// Loading a spec file for a command: problems go to stderr compiler style; an unreadable file is a usage error.
enum SpecFile {
    /// The loaded spec and a renderer for more diagnostics about it (the plan's warnings).
    static func load(_ path: String) throws -> (LoadedSpec, DiagnosticRenderer) {
        let loaded: LoadedSpec
        do {
            loaded = try SpecLoader().load(path: path)
        } catch {
            throw CLIError(error.description)
        }
        let renderer = DiagnosticRenderer(fileName: path, text: loaded.source.text, style: Terminal.stderr.diagnosticStyle)
        for diagnostic in loaded.diagnostics {
            Terminal.stderr.write(renderer.render(diagnostic) + "\n")
        }
        return (loaded, renderer)
    }
}
