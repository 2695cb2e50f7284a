import Foundation

/// Writes a plan tree: `DIR/plan.json` and `DIR/sites/<site>/replica-<i>/...`. Same plan, same bytes.
public enum PlanWriter {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The plan as key-sorted, pretty JSON with a trailing newline.
    public static func json(_ plan: Plan) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        var data = (try? encoder.encode(plan)) ?? Data()
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// Replaces the plan tree in `directory`. Refuses a non-empty directory that does not already hold a plan.
    public static func write(_ plan: Plan, files: [RenderedFile], to directory: String) throws(Failure) {
        let fm = FileManager.default
        let root = URL(fileURLWithPath: directory)
        let planFile = root.appendingPathComponent("plan.json")
        do {
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: root.path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else { throw Failure(description: "\(directory): exists and is not a directory") }
                let entries = try fm.contentsOfDirectory(atPath: root.path)
                if !entries.isEmpty, !entries.contains("plan.json") {
                    throw Failure(description: "\(directory): not empty and holds no plan.json; refusing to write into it")
                }
                try? fm.removeItem(at: root.appendingPathComponent("sites"))
            }
            try fm.createDirectory(at: root, withIntermediateDirectories: true)
            for file in files {
                let url = root.appendingPathComponent(file.path)
                try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(file.contents.utf8).write(to: url)
                try fm.setAttributes([.posixPermissions: file.executable ? 0o755 : 0o644], ofItemAtPath: url.path)
            }
            try json(plan).write(to: planFile, options: .atomic)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "\(directory): cannot write the plan: \(error.localizedDescription)")
        }
    }
}
