import Foundation
import GoldenFiles
import Testing

/// Runs the built `intermesh` binary as a user would, capturing exit code, stdout and stderr.
struct CLI {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static var binary: String {
        if let explicit = ProcessInfo.processInfo.environment["INTERMESH_BIN"] { return explicit }
        // The test bundle sits beside the products of the same build.
        let products = Bundle.main.bundleURL
        let candidates = [products.appendingPathComponent("intermesh"), root.appendingPathComponent(".build/debug/intermesh")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }?.path ?? candidates[1].path
    }

    struct Result {
        var code: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = root
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes concurrently so neither can fill up and block the child.
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return Result(code: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("intermesh-cli-\(UUID())")
    }
}

/// Compares text with a golden file; `INTERMESH_UPDATE_GOLDEN=1 swift test` rewrites the goldens.
func expectGolden(_ text: String, _ name: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    let problem = GoldenDirectory(CLI.golden).check(text, name)
    #expect(problem == nil, "\(problem ?? "")", sourceLocation: sourceLocation)
}

/// Every golden file of the CLI's output belongs to a test that compares it.
@Suite struct CLIGoldenTests {
    static let names = ["plan-intellect-1-warnings.txt", "plan-local.txt", "rollout-status.txt", "up-table.txt", "validate-cross-field.txt"]

    @Test func noGoldenIsStaleOrMissing() {
        #expect(GoldenDirectory(CLI.golden).files() == Self.names.sorted())
    }
}
