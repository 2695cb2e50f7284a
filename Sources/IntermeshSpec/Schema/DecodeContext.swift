/// Collects what decoding finds: problems, and where each value of the spec came from.
public final class DecodeContext {
    public private(set) var diagnostics: [Diagnostic] = []
    /// Location of every value present in the file, by spec path (`spec.sites[0].replicas`).
    public private(set) var locations: [String: SourceLocation] = [:]

    public init() {}

    public func report(_ diagnostic: Diagnostic) {
        diagnostics.append(diagnostic)
    }

    public func error(_ message: String, at location: SourceLocation?, path: String) {
        report(.error(message, at: location, path: path))
    }

    func record(_ path: String, _ location: SourceLocation) {
        locations[path] = location
    }

    /// Where `path` is, or its nearest enclosing value when it was defaulted.
    public func location(of path: String) -> SourceLocation? {
        SourceLocation.nearest(to: path, in: locations)
    }
}
