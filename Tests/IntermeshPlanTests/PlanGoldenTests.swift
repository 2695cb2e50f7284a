import Foundation
import GoldenFiles
import IntermeshPlan
import IntermeshSpec
import Testing

/// The rendered plans of the example specs, file by file, against reviewed golden copies.
@Suite struct PlanGoldenTests {
    static let trees = ["local", "mixed", "torchft-local"]

    /// The whole tree: a file the renderer stops producing, or one it starts producing, fails as a changed one does.
    @Test(arguments: trees)
    func renderedTreeMatchesGolden(_ name: String) throws {
        let (plan, files) = try Repo.compile(Repo.run("specs/\(name).yaml"))
        var produced = ["plan.json": String(decoding: PlanWriter.json(plan), as: UTF8.self)]
        for file in files { produced[file.path] = file.contents }
        let problems = GoldenDirectory(Repo.golden).checkTree(produced, under: name)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    /// Every golden file belongs to a test: the plan trees, the summary and one report per change class.
    @Test func noGoldenIsStale() {
        let golden = GoldenDirectory(Repo.golden)
        let known = Set(Self.trees.flatMap { tree in golden.files(under: tree).map { "\(tree)/\($0)" } }
            + ["intellect-1/summary.txt", "diff/torchft-training.txt"] + ChangeReportGoldenTests.cases.map { "diff/\($0.name).txt" })
        #expect(Set(golden.files()).subtracting(known).isEmpty, "stale: \(Set(golden.files()).subtracting(known).sorted())")
        #expect(known.subtracting(golden.files()).isEmpty, "missing: \(known.subtracting(golden.files()).sorted())")
    }

    @Test func intellectSummaryMatchesGolden() throws {
        let (plan, _) = try Repo.compile(Repo.run("specs/intellect-1.yaml"))
        let warnings = PlanSummary.warnings(plan).map { "warning: \($0.message)" }.joined(separator: "\n")
        try expectGolden(PlanSummary.text(plan) + "\n" + warnings + "\n", "intellect-1/summary.txt")
    }

    @Test func planIsDeterministicWithOneFolderPerSite() throws {
        let run = try Repo.run("specs/intellect-1.yaml")
        let (first, firstFiles) = try Repo.compile(run)
        let (second, secondFiles) = try Repo.compile(Repo.run("specs/intellect-1.yaml"))
        #expect(PlanWriter.json(first) == PlanWriter.json(second))
        #expect(firstFiles == secondFiles)
        let folders = Set(firstFiles.map { $0.path.split(separator: "/")[1] })
        #expect(folders.count == 14)
        #expect(first.contentHash == run.contentHash)
    }

    @Test func writtenTreesAreByteIdentical() throws {
        let (plan, files) = try Repo.compile(Repo.run("specs/local.yaml"))
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID())")
        defer { try? FileManager.default.removeItem(at: base) }
        let a = base.appendingPathComponent("a").path, b = base.appendingPathComponent("b").path
        try PlanWriter.write(plan, files: files, to: a)
        try PlanWriter.write(plan, files: files, to: b)
        // Writing again over an existing plan replaces it.
        try PlanWriter.write(plan, files: files, to: a)
        for file in files + [RenderedFile(path: "plan.json", contents: "", executable: false)] {
            let left = try Data(contentsOf: URL(fileURLWithPath: a).appendingPathComponent(file.path))
            let right = try Data(contentsOf: URL(fileURLWithPath: b).appendingPathComponent(file.path))
            #expect(left == right)
        }
        let mode = try FileManager.default.attributesOfItem(atPath: "\(a)/sites/alpha/replica-0/launch.sh")[.posixPermissions] as? Int
        #expect(mode == 0o755)
    }

    @Test func writerRefusesAForeignDirectory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("foreign-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "keep me".write(to: dir.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let (plan, files) = try Repo.compile(Repo.run(text: tinySpec))
        #expect(throws: PlanWriter.Failure.self) { try PlanWriter.write(plan, files: files, to: dir.path) }
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("notes.txt").path))
    }
}
