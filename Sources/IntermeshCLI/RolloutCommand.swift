import ArgumentParser
import Foundation
import IntermeshAPI
import IntermeshClient

/// `intermesh rollout status|history|undo|pause|resume|promote RUN`.
struct RolloutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Follow and steer mid-run config rollouts.",
        subcommands: [Status.self, History.self, Undo.self, Pause.self, Resume.self, Promote.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Acknowledged and activated members per site; --watch follows it to the end.")

        @Argument(help: "The run.")
        var run: String

        @Flag(help: "Redraw every second until the rollout has finished.")
        var watch = false

        @Option(name: .shortAndLong, help: "table, json or yaml.")
        var output: DataFormat = .table

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let api = try client.client()
            var drawn = 0
            while true {
                let status: RolloutStatus
                do {
                    status = try await api.rolloutStatus(of: run)
                } catch let error as APIClientError {
                    throw error.cliError
                }
                let finished = status.rollout?.phase.finished ?? true
                if output != .table {
                    Terminal.stdout.write(try Rendering.render(status, table: [], format: output))
                } else {
                    let text = RolloutView.render(status, terminal: Terminal.stdout)
                    // On a terminal the view is redrawn in place; otherwise each poll prints anew.
                    if watch, Terminal.stdout.isTerminal, drawn > 0 { Terminal.stdout.write("\u{1B}[\(drawn)A\u{1B}[J") }
                    Terminal.stdout.write(text)
                    drawn = text.split(separator: "\n", omittingEmptySubsequences: false).count - 1
                }
                guard watch, !finished else { return }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revisions with who applied them, when, what changed and how their rollout ended.")

        @Argument(help: "The run.")
        var run: String

        @Option(name: .shortAndLong, help: "table, json or yaml.")
        var output: DataFormat = .table

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let entries: [HistoryEntry]
            do {
                entries = try await client.client().rolloutHistory(of: run)
            } catch let error as APIClientError {
                throw error.cliError
            }
            var rows = [["REVISION", "APPLIED", "BY", "ROLLOUT", "CHANGES"]]
            for entry in entries {
                rows.append([String(entry.revision) + (entry.active ? "*" : ""), Timestamps.format(entry.appliedAt), entry.appliedBy,
                             entry.outcome?.rawValue ?? "-", entry.summary])
            }
            Terminal.stdout.write(try Rendering.render(entries, table: rows, format: output))
        }
    }

    struct Undo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Roll back: a new revision equal to an earlier one (default: the one before the active), rolled out the same way.")

        @Argument(help: "The run.")
        var run: String

        @Option(help: "The revision to restore.")
        var toRevision: Int?

        @OptionGroup var client: ClientOptions

        func run() async throws {
            do {
                let response = try await client.client().undo(run: run, toRevision: toRevision)
                Terminal.stdout.write("run \(response.run) updated to revision \(response.revision) (\(response.contentHash.prefix(19)))\n")
                if let rollout = response.rollout { Terminal.stdout.write("rollout \(rollout)\n") }
            } catch let error as APIClientError {
                throw error.cliError
            }
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Hold every rollout where it is: no new activation step, promotion or relaunch.")
        @Argument(help: "The run.") var run: String
        @OptionGroup var client: ClientOptions
        func run() async throws { try await RolloutCommand.verb(.pause, run: run, client: client) }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let rollouts go on after a pause.")
        @Argument(help: "The run.") var run: String
        @OptionGroup var client: ClientOptions
        func run() async throws { try await RolloutCommand.verb(.resume, run: run, client: client) }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a canary to every site now.")
        @Argument(help: "The run.") var run: String
        @OptionGroup var client: ClientOptions
        func run() async throws { try await RolloutCommand.verb(.promote, run: run, client: client) }
    }

    static func verb(_ verb: RolloutVerb, run: String, client: ClientOptions) async throws {
        do {
            let status = try await client.client().rollout(verb, run: run)
            Terminal.stdout.write(RolloutView.render(status, terminal: Terminal.stdout))
        } catch let error as APIClientError {
            throw error.cliError
        }
    }
}

/// The text of `rollout status`.
enum RolloutView {
    static func render(_ status: RolloutStatus, terminal: Terminal) -> String {
        var text = "run \(status.run): active revision \(status.activeRevision), outer step \(status.outerStep)"
            + (status.paused ? "  " + terminal.paint("PAUSED", .warning) : "") + "\n"
        guard let rollout = status.rollout else { return text + "no rollout yet\n" }
        let step = rollout.activationStep.map { " at outer step \($0)" } ?? ""
        text += "rollout of revision \(rollout.revision) (from \(rollout.from)): \(rollout.strategy.rawValue)\(step); \(phase(rollout))"
        if let reason = rollout.reason { text += " - \(reason)" }
        text += "\n  \(rollout.summary)\n"
        var rows = [["SITE", "MEMBERS", "ACKNOWLEDGED", "ACTIVE", "RELAUNCHES LEFT", "PROGRESS"]]
        for site in status.sites {
            let progress = site.covered ? bar(done: site.active, of: site.members, terminal: terminal) : "(not in canary)"
            rows.append([site.site, String(site.members), String(site.acknowledged), String(site.active),
                         site.pendingRestarts.map(String.init) ?? "-", progress])
        }
        text += Rendering.render(rows: rows)
        return text
    }

    static func phase(_ rollout: Rollout) -> String {
        switch rollout.phase {
        case .pending: return "pending until rollouts resume"
        case .canary: return "canary running, gate after outer step \(rollout.gateStep ?? 0)"
        case .awaitingPromotion: return "canary passed, waiting for `rollout promote`"
        case .restarting: return "relaunching"
        case .activating: return rollout.promoted ? "promoted, activating" : "activating"
        case .complete, .reverted, .superseded: return rollout.phase.rawValue
        }
    }

    static func bar(done: Int, of total: Int, terminal: Terminal) -> String {
        guard total > 0 else { return "-" }
        let width = 20, filled = width * min(done, total) / total
        let text = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        return (done >= total ? terminal.paint(text, .good) : text) + " \(done)/\(total)"
    }
}
