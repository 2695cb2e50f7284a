import Foundation

/// The outcome of loading one spec: the run (when it decoded), and every problem found.
public struct LoadedSpec: Sendable {
    public var source: SpecSource
    /// The decoded run after defaults and normalisation; nil when the document could not be decoded at all.
    public var run: TrainingRun?
    public var diagnostics: [Diagnostic]
    /// Where each value of the spec is in the file, by spec path.
    public var locations: [String: SourceLocation] = [:]

    /// The location of a spec path, or of its nearest enclosing value present in the file.
    public func location(of path: String) -> SourceLocation? {
        SourceLocation.nearest(to: path, in: locations)
    }

    /// A spec is valid when it decoded and no problem is an error; warnings are allowed.
    public var isValid: Bool { run != nil && !diagnostics.hasErrors }

    /// The run, only when valid.
    public var validRun: TrainingRun? { isValid ? run : nil }
}

/// Reads, composes, decodes and validates run specs.
public struct SpecLoader: Sendable {
    public var limits: YAMLComposer.Limits
    public var rules: [SpecRule]

    public init(limits: YAMLComposer.Limits = .init(), rules: [SpecRule] = SpecRules.all) {
        self.limits = limits
        self.rules = rules
    }

    /// Loads a file. Throws only when the file cannot be read at all (missing, a directory).
    public func load(path: String) throws(SpecSourceError) -> LoadedSpec {
        switch try SpecSource.read(path: path) {
        case let .success(source):
            return load(source)
        case let .failure(diagnostic):
            return LoadedSpec(source: SpecSource(name: path, text: ""), run: nil, diagnostics: [diagnostic])
        }
    }

    public func load(name: String, text: String) -> LoadedSpec {
        switch SpecSource.decode(name: name, data: Data(text.utf8)) {
        case let .success(source): return load(source)
        case let .failure(diagnostic): return LoadedSpec(source: SpecSource(name: name, text: text), run: nil, diagnostics: [diagnostic])
        }
    }

    public func load(_ source: SpecSource) -> LoadedSpec {
        let root: YAMLNode?
        do {
            root = try YAMLComposer(limits: limits).compose(source.text)
        } catch {
            return LoadedSpec(source: source, run: nil, diagnostics: [.error(error.message, at: error.location)])
        }
        guard let root else {
            return LoadedSpec(source: source, run: nil,
                              diagnostics: [.error("file has no YAML document; expected a TrainingRun", at: nil)])
        }
        guard case .mapping = root.value else {
            return LoadedSpec(source: source, run: nil, diagnostics: [
                .error("expected a TrainingRun mapping (apiVersion, kind, metadata, spec), got \(root.kindDescription)", at: root.location),
            ])
        }
        let context = DecodeContext()
        var run = TrainingRun(from: ObjectReader(node: root, schema: TrainingRun.schema, path: "", context: context))
        var diagnostics = context.diagnostics
        let ruleContext = RuleContext(context)
        for rule in rules {
            diagnostics += rule.check(run, ruleContext)
        }
        run.normaliseMixWeights()
        return LoadedSpec(source: source, run: run, diagnostics: diagnostics.sortedByLocation(), locations: context.locations)
    }
}

extension TrainingRun {
    /// How far from 1 the data-mix weights may sum before they are scaled (and the validator warns).
    static let mixWeightTolerance = 1e-6

    /// Scales data-mix weights to sum to 1 (the validator warns when they did not). Weights that already sum to 1
    /// within the tolerance are kept as written, so loading a spec's canonical form again gives the same run.
    mutating func normaliseMixWeights() {
        let sum = spec.data.mix.reduce(0) { $0 + $1.weight }
        guard sum > 0, abs(sum - 1) > Self.mixWeightTolerance else { return }
        for index in spec.data.mix.indices { spec.data.mix[index].weight /= sum }
    }
}

