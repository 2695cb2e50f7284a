import Foundation
import IntermeshAPI

/// The end-of-run summary of `intermesh up`, from the replicas' JSON logs and the run's events.
struct UpSummary {
    struct Replica {
        var slot: String
        var firstLoss: Double?
        var lastLoss: Double?
        var steps: Set<Int> = []
    }

    var replicas: [String: Replica] = [:]
    /// Per outer step, the parameter hashes the replicas logged.
    var hashes: [Int: Set<String>] = [:]
    var firstEval: [String: Double] = [:]
    var lastEval: [String: Double] = [:]
    var firstEvalStep = Int.max
    var lastEvalStep = -1
    var relaunches = 0
    var quarantines: [String] = []

    static func collect(dataDirectory: URL, events: [EventRecord]) -> UpSummary {
        var summary = UpSummary()
        let agents = dataDirectory.appendingPathComponent("agents")
        for site in (try? FileManager.default.contentsOfDirectory(atPath: agents.path)) ?? [] {
            let logs = agents.appendingPathComponent(site).appendingPathComponent("logs")
            for file in (try? FileManager.default.contentsOfDirectory(atPath: logs.path))?.sorted() ?? [] {
                guard let text = try? String(contentsOf: logs.appendingPathComponent(file), encoding: .utf8) else { continue }
                for line in text.split(separator: "\n") where line.hasPrefix("{") && line.contains("\"event\":\"outer\"") {
                    guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
                    summary.add(object)
                }
            }
        }
        summary.relaunches = events.filter { $0.kind == "Launched" && !$0.message.hasSuffix("(incarnation 1)") }.count
        summary.quarantines = events.filter { $0.kind == "Quarantined" }.map(\.message)
        return summary
    }

    mutating func add(_ object: [String: Any]) {
        guard let slot = object["slot"] as? String, let step = object["outer_step"] as? Int else { return }
        var replica = replicas[slot] ?? Replica(slot: slot)
        if let loss = object["loss"] as? Double {
            if replica.firstLoss == nil { replica.firstLoss = loss }
            replica.lastLoss = loss
        }
        replica.steps.insert(step)
        replicas[slot] = replica
        if let hash = object["hash"] as? String { hashes[step, default: []].insert(hash) }
        if let eval = object["eval"] as? [String: Double] {
            if step < firstEvalStep { firstEvalStep = step; firstEval = eval }
            if step > lastEvalStep { lastEvalStep = step; lastEval = eval }
        }
    }

    func render() -> String {
        var text = "summary\n"
        let steps = replicas.values.flatMap(\.steps)
        text += "  outer steps: \(steps.min() ?? 0) to \(steps.max() ?? 0) (\(hashes.count) logged)\n"
        for replica in replicas.values.sorted(by: { $0.slot < $1.slot }) {
            let first = replica.firstLoss.map { String(format: "%.3f", $0) } ?? "-"
            let last = replica.lastLoss.map { String(format: "%.3f", $0) } ?? "-"
            text += "  \(replica.slot): training loss \(first) -> \(last) over \(replica.steps.count) outer steps\n"
        }
        for source in lastEval.keys.sorted() {
            let first = firstEval[source].map { String(format: "%.3f", $0) } ?? "-"
            text += "  eval \(source): \(first) (step \(firstEvalStep)) -> \(String(format: "%.3f", lastEval[source] ?? 0)) (step \(lastEvalStep))\n"
        }
        let split = hashes.filter { $0.value.count > 1 }.keys.sorted()
        if hashes.isEmpty {
            text += "  parameters: no outer step logged\n"
        } else {
            text += split.isEmpty ? "  parameters: identical on every replica at every outer step\n"
                : "  parameters: DIFFER at outer steps \(split.map(String.init).joined(separator: ", "))\n"
        }
        text += "  failures healed: \(relaunches) relaunch\(relaunches == 1 ? "" : "es")\n"
        for quarantine in quarantines { text += "  \(quarantine)\n" }
        return text
    }
}
