import ArgumentParser

/// `-o text|json` of offline commands.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}
