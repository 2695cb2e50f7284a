import Foundation
import IntermeshPlan
import IntermeshSpec
import Testing

@Suite struct ShellQuoteTests {
    static let hostile = [
        "plain", "with space", "$(touch /tmp/intermesh-pwned)", "`id`", "a;b", "it's", "\"double\"", "line1\nline2",
        "--flag=value", "", "*", "~root", "$HOME", "a\\b", "!event", "#comment",
    ]

    @Test(arguments: hostile)
    func bashReadsTheQuotedWordLiterally(_ word: String) throws {
        let output = try bash("printf '%s' \(ShellQuote.quote(word))")
        #expect(output == word)
    }

    @Test func runtimeVariablesStayExpandable() throws {
        let word = "@${INTERMESH_REPLICA_DIR}/config.toml;$(id)"
        let output = try bash("INTERMESH_REPLICA_DIR=/r; printf '%s' \(ShellQuote.quoteAllowingRuntime(word))")
        #expect(output == "@/r/config.toml;$(id)")
        #expect(try bash("printf '%s' \(ShellQuote.quoteAllowingRuntime("${HOME}"))") == "${HOME}")
    }

    @Test func aCommandNeverStartsWithAnAssignment() {
        #expect(ShellQuote.command(["A=b", "--x=1"]) == "'A=b' --x=1")
    }

    /// A spec full of shell metacharacters renders a script that runs them as data, never as code.
    @Test func renderedLaunchScriptIsInert() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("inert-\(UUID())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let marker = dir.appendingPathComponent("pwned").path
        let probe = dir.appendingPathComponent("probe.sh").path
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "#!/bin/sh\nprintf '%s\\n' \"$HOSTILE\" \"$@\"\n".write(toFile: probe, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: probe)
        let text = tinySpec.replacingOccurrences(of: "  model:", with: """
          engine:
            entrypoint: \(probe)
            args: ["$(touch \(marker))", "a;b"]
            env:
              HOSTILE: "$(touch \(marker)) `touch \(marker)`; touch \(marker) 'q' \\"dq\\""
          model:
        """)
        let (plan, files) = try Repo.compile(Repo.run(text: text))
        let planDir = dir.appendingPathComponent("plan")
        try PlanWriter.write(plan, files: files, to: planDir.path)
        let output = try bash("bash \(ShellQuote.quote(planDir.appendingPathComponent("sites/alpha/replica-0/launch.sh").path))")
        #expect(output.split(separator: "\n").map(String.init) == [
            "$(touch \(marker)) `touch \(marker)`; touch \(marker) 'q' \"dq\"", "--slot", "alpha/0", "$(touch \(marker))", "a;b",
        ])
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    func bash(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
