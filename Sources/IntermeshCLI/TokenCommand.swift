import ArgumentParser
import Foundation
import IntermeshAPI
import IntermeshClient

/// `intermesh token create --role ROLE [--run R --site S]`.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Manage API tokens.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a token; it is shown once.")

        @Option(help: "admin, operator, viewer or agent.")
        var role: String

        @Option(help: "The run an agent token is for.")
        var run: String?

        @Option(help: "The site an agent token is for.")
        var site: String?

        @Option(help: "A note on what the token is for.")
        var description: String?

        @OptionGroup var client: ClientOptions

        func validate() throws {
            guard Role(rawValue: role) != nil else {
                throw ValidationError("--role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", ")), got '\(role)'")
            }
        }

        func run() async throws {
            do {
                let request = TokenRequest(role: Role(rawValue: role) ?? .viewer, run: run, site: site, description: description)
                let response = try await client.client().createToken(request)
                Terminal.stdout.write(response.token + "\n")
            } catch let error as APIClientError {
                throw error.cliError
            }
        }
    }
}
