import ArgumentParser
import IntermeshSpec

/// `intermesh schema`: the spec's JSON Schema for editors, or its reference in Markdown.
struct SchemaCommand: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json
        case markdown
    }

    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the run spec's JSON Schema (draft 2020-12), or its reference in Markdown.")

    @Option(help: "json (for yaml-language-server and other editors) or markdown (docs/spec.md).")
    var format: Format = .json

    func run() {
        switch format {
        case .json: Terminal.stdout.write(JSONSchemaGenerator.json())
        case .markdown: Terminal.stdout.write(SpecReference.markdown())
        }
    }
}
