/// One cross-field check of a decoded spec. Rules return problems; they never stop the others.
public struct SpecRule: Sendable {
    public var name: String
    public var check: @Sendable (TrainingRun, RuleContext) -> [Diagnostic]

    public init(_ name: String, check: @escaping @Sendable (TrainingRun, RuleContext) -> [Diagnostic]) {
        self.name = name
        self.check = check
    }
}

/// What a rule may look up: where each value of the spec is in the file.
public struct RuleContext: @unchecked Sendable {
    let decode: DecodeContext

    init(_ decode: DecodeContext) {
        self.decode = decode
    }

    public func error(_ message: String, at path: String) -> Diagnostic {
        .error(message, at: decode.location(of: path), path: path)
    }

    public func warning(_ message: String, at path: String) -> Diagnostic {
        .warning(message, at: decode.location(of: path), path: path)
    }

    public func isPresent(_ path: String) -> Bool { decode.locations[path] != nil }
}
