import Foundation
import IntermeshAPI
import IntermeshClient

/// What the live view shows, read from the control plane's API.
struct UpSnapshot {
    var run: String
    var phase: RunPhase
    var revision: Int
    var outerStep: Int
    var conditions: [RunCondition]
    var desired: [(site: String, slots: [String])]
    var members: [MemberRecord]
    var quarantined: [String]
    var events: [EventRecord]
    /// The run's latest rollout, finished or not.
    var rollout: Rollout?
    /// Every event since the last snapshot (the plain view prints them all).
    var fresh: [EventRecord] = []

    /// Reads the run's state; `recent` keeps the last events between calls (only new ones are read).
    static func take(client: APIClient, run name: String, recent: inout [EventRecord], cursor: inout Int64) async throws -> UpSnapshot {
        let description = try await client.describe(run: name)
        let members = try await client.members(of: name).filter { !$0.leaving }
        let fresh = try await client.events(of: name, after: cursor)
        cursor = fresh.last?.id ?? cursor
        let newEvents = fresh.filter { $0.kind != "Registered" }
        recent = Array((recent + newEvents).suffix(6))
        return UpSnapshot(run: name, phase: description.phase, revision: description.activeRevision, outerStep: description.outerStep,
                          conditions: description.conditions, desired: description.sites.map { ($0.name, $0.slots) },
                          members: members, quarantined: description.sites.flatMap(\.quarantined).sorted(), events: recent,
                          rollout: try await client.rolloutStatus(of: name).rollout, fresh: newEvents)
    }

    /// `revision 2 hot, activating at outer step 11: 2/3 acknowledged`, or `none`.
    var rolloutText: String {
        guard let rollout else { return "none" }
        var text = "revision \(rollout.revision) \(rollout.strategy.rawValue), \(rollout.phase.rawValue)"
        if rollout.phase == .activating, let step = rollout.activationStep {
            let acknowledged = members.filter { ($0.acknowledged ?? 0) >= rollout.revision }.count
            text += " at outer step \(step): \(acknowledged)/\(members.count) acknowledged"
        }
        return text
    }

    /// The size of the last quorum as the members report it: those training at the newest outer step, or still
    /// reporting the one before (members report a finished step a moment apart; a recovering one is not counted).
    var quorumSize: Int {
        let newest = members.map(\.outerStep).max() ?? 0
        return members.filter { $0.outerStep >= newest - 1 && [.training, .syncing, .checkpointing].contains($0.state) }.count
    }
}

/// The live view of `intermesh up`: a table redrawn in place on a terminal; plain lines otherwise.
final class UpView {
    let terminal: Terminal
    var drawnLines = 0
    var lastLine = ""
    var seenEvents: Int64 = 0

    init(terminal: Terminal) {
        self.terminal = terminal
    }

    func draw(_ snapshot: UpSnapshot) {
        if terminal.isTerminal {
            let lines = table(snapshot)
            var text = drawnLines > 0 ? "\u{1B}[\(drawnLines)A" : ""
            for line in lines { text += "\u{1B}[2K" + line + "\n" }
            terminal.write(text)
            drawnLines = lines.count
            return
        }
        // Plain: new events, and one status line whenever it changes.
        var text = ""
        for event in snapshot.fresh where event.id > seenEvents {
            text += "\(Timestamps.format(event.time)) \(event.kind): \(event.message)\n"
            seenEvents = event.id
        }
        let status = statusLine(snapshot)
        if status != lastLine {
            text += status + "\n"
            lastLine = status
        }
        terminal.write(text)
    }

    func finish() {
        drawnLines = 0
    }

    func statusLine(_ snapshot: UpSnapshot) -> String {
        let live = snapshot.members.count
        let desired = snapshot.desired.map(\.slots.count).reduce(0, +)
        let losses = snapshot.members.sorted { $0.slot < $1.slot }.map { member in
            "\(member.slot)=" + (member.loss.map { String(format: "%.3f", $0) } ?? "-")
        }
        return "outer step \(snapshot.outerStep) | \(live)/\(desired) replicas live | quorum \(snapshot.quorumSize) | loss "
            + losses.joined(separator: " ")
    }

    func table(_ snapshot: UpSnapshot) -> [String] {
        let available = snapshot.conditions.first { $0.type == "Available" }
        var lines = [
            terminal.paint("run \(snapshot.run)", .emphasis) + "  revision \(snapshot.revision)  phase \(snapshot.phase)  outer step \(snapshot.outerStep)"
                + "  quorum \(snapshot.quorumSize)  rollout: \(snapshot.rolloutText)"
                + (available.map { "  " + ($0.status ? terminal.paint("Available", .good) : terminal.paint("\($0.reason)", .warning)) } ?? ""),
        ]
        var rows = [["SITE", "SLOT", "MEMBER", "STATE", "STEP", "REV", "LOSS", "TOKENS/S"]]
        for (site, slots) in snapshot.desired {
            for slot in slots {
                if let member = snapshot.members.first(where: { $0.slot == slot }) {
                    rows.append([site, slot, String(member.id.prefix(8)), member.state.rawValue, String(member.outerStep),
                                 member.activeRevision.map(String.init) ?? "-", member.loss.map { String(format: "%.3f", $0) } ?? "-",
                                 member.tokensPerSecond.map { String(Int($0)) } ?? "-"])
                } else {
                    rows.append([site, slot, "-", snapshot.quarantined.contains(slot) ? "quarantined" : "missing", "-", "-", "-", "-"])
                }
            }
        }
        lines += Rendering.render(rows: rows).split(separator: "\n").map(String.init)
        lines.append(terminal.paint("recent events", .dim))
        for event in snapshot.events {
            lines.append("  " + terminal.paint(Timestamps.format(event.time).suffix(13).description, .dim) + " \(event.kind): " + String(event.message.prefix(110)))
        }
        return lines
    }
}
