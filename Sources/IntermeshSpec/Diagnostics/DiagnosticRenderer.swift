/// Renders diagnostics like a compiler: `FILE:LINE:COL: error: message`, the source line, a caret.
public struct DiagnosticRenderer: Sendable {
    /// Wraps parts of the output in terminal colours; identity when output is not a terminal.
    public struct Style: Sendable {
        public var error: @Sendable (String) -> String
        public var warning: @Sendable (String) -> String
        public var emphasis: @Sendable (String) -> String
        public var caret: @Sendable (String) -> String

        public init(
            error: @escaping @Sendable (String) -> String,
            warning: @escaping @Sendable (String) -> String,
            emphasis: @escaping @Sendable (String) -> String,
            caret: @escaping @Sendable (String) -> String
        ) {
            self.error = error
            self.warning = warning
            self.emphasis = emphasis
            self.caret = caret
        }

        public static let plain = Style(error: { $0 }, warning: { $0 }, emphasis: { $0 }, caret: { $0 })
    }

    public var fileName: String
    public var lines: [Substring]
    public var style: Style

    public init(fileName: String, text: String, style: Style = .plain) {
        self.fileName = fileName
        self.lines = SpecSource.lines(of: text)
        self.style = style
    }

    public func render(_ diagnostic: Diagnostic) -> String {
        let place = diagnostic.location.map { "\(fileName):\($0.line):\($0.column):" } ?? "\(fileName):"
        let severity = diagnostic.severity == .error
            ? style.error("error:") : style.warning("warning:")
        var out = "\(style.emphasis(place)) \(severity) \(style.emphasis(diagnostic.message))"
        if let location = diagnostic.location, location.line >= 1, location.line <= lines.count {
            var source = String(lines[location.line - 1])
            if source.hasSuffix("\r") { source.removeLast() }
            // Long lines (minified or hostile input) are cut around the caret.
            let scalars = Array(source.unicodeScalars)
            let column = max(1, min(location.column, scalars.count + 1))
            let start = max(0, column - 1 - 100)
            let end = min(scalars.count, start + 200)
            var shown = String(String.UnicodeScalarView(scalars[start..<end]))
            shown = shown.replacingTabs()
            let prefix = start > 0 ? "..." : ""
            let caretOffset = prefix.count + column - 1 - start
            out += "\n\(prefix)\(shown)\n\(String(repeating: " ", count: caretOffset))\(style.caret("^"))"
        }
        return out
    }

    public func render(_ diagnostics: [Diagnostic]) -> String {
        diagnostics.map(render).joined(separator: "\n")
    }
}

private extension String {
    func replacingTabs() -> String {
        String(map { $0 == "\t" ? " " : $0 })
    }
}
