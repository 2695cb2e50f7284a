import ArgumentParser
import Foundation

/// The `intermesh` command: a declarative orchestrator for decentralized DiLoCo training runs.
public struct Intermesh: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "intermesh",
        abstract: "A declarative orchestrator for decentralized DiLoCo training runs.",
        version: "0.1.0",
        subcommands: [
            ValidateCommand.self, PlanCommand.self, SchemaCommand.self, ServeCommand.self, ApplyCommand.self,
            GetCommand.self, DescribeCommand.self, EventsCommand.self, DiffCommand.self, TokenCommand.self, AgentCommand.self,
            UpCommand.self, RolloutCommand.self, CACommand.self,
        ]
    )

    public init() {}

    /// Runs the command line and exits: 0 success, 1 a finding (invalid spec, differences), 2 usage or I/O error.
    public static func main(arguments: [String]? = nil) async -> Never {
        do {
            var command = try parseAsRoot(arguments)
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
            Foundation.exit(0)
        } catch let failure as CLIError {
            Terminal.stderr.write(Terminal.stderr.paint("error:", .error) + " \(failure.message)\n")
            Foundation.exit(failure.code)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help and --version
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            Terminal.stderr.write(fullMessage(for: error) + "\n")
            // Usage errors exit 2 (the validate and diff convention), not ArgumentParser's 64.
            Foundation.exit(2)
        }
    }
}

/// A failure the user can act on; printed as one `error:` line.
public struct CLIError: Error {
    public var message: String
    public var code: Int32

    public init(_ message: String, code: Int32 = 2) {
        self.message = message
        self.code = code
    }
}
