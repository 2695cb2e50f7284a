import Foundation
import Mustache

/// The launch templates of `templates/`, loaded once and rendered strictly.
///
/// Templates that produce shell set `{{% CONTENT_TYPE: SHELL}}`: every `{{value}}` is then shell-quoted,
/// and only `{{{raw}}}` (used for pre-quoted or validated values) is not.
public struct TemplateSet: Sendable {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public let directory: String
    let library: MustacheLibrary
    let sources: [String: String]

    /// Loads every `*.mustache` file under `directory`, named by its relative path without the extension.
    public init(directory: String) throws(Failure) {
        ShellContentType.registerOnce
        self.directory = directory
        let root = URL(fileURLWithPath: directory).standardizedFileURL
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            throw Failure(description: "\(directory): templates directory cannot be read")
        }
        var sources: [String: String] = [:]
        var library = MustacheLibrary()
        for case let url as URL in walker where url.pathExtension == "mustache" {
            let relative = String(url.standardizedFileURL.path.dropFirst(root.path.count + 1).dropLast(".mustache".count))
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                throw Failure(description: "\(url.path): cannot be read")
            }
            do {
                try library.register(text, named: relative)
            } catch {
                throw Failure(description: "\(url.path): invalid template: \(error)")
            }
            sources[relative] = text
        }
        guard !sources.isEmpty else { throw Failure(description: "\(directory): no *.mustache templates found") }
        self.library = library
        self.sources = sources
    }

    public var names: [String] { sources.keys.sorted() }

    public func has(_ name: String) -> Bool { sources[name] != nil }

    /// Renders `name`; a variable, section or partial the context lacks is an error, never an empty string.
    public func render(_ name: String, context: [String: Any]) throws(Failure) -> String {
        guard sources[name] != nil else { throw Failure(description: "template '\(name)' not found in \(directory)") }
        let missing = StrictCheck(sources: sources).missing(in: name, context: context)
        if !missing.isEmpty {
            throw Failure(description: "template '\(name)' uses \(missing.map { "'\($0)'" }.joined(separator: ", ")) "
                          + "which the plan does not provide")
        }
        guard let output = library.render(context, withTemplate: name) else {
            throw Failure(description: "template '\(name)' could not be rendered")
        }
        return output
    }

    /// Where templates are: `$INTERMESH_TEMPLATES`, then `templates/` beside or above the executable
    /// (a build tree or `share/intermesh/templates` of an install), then the current directory.
    public static func locate(explicit: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let explicit { return explicit }
        if let fromEnv = environment["INTERMESH_TEMPLATES"], !fromEnv.isEmpty { return fromEnv }
        var candidates: [URL] = []
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(dir.appendingPathComponent("templates"))
            candidates.append(dir.appendingPathComponent("share/intermesh/templates"))
            dir.deleteLastPathComponent()
        }
        candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("templates"))
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("launchers").path) }?.path
    }
}

/// Mustache content type that quotes every escaped value for a POSIX shell.
struct ShellContentType: MustacheContentType {
    func escapeText(_ text: String) -> String { ShellQuote.quote(text) }

    static let registerOnce: Void = {
        MustacheContentTypes.register(ShellContentType(), named: "SHELL")
    }()
}
