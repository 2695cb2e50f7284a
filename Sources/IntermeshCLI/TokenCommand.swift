import ArgumentParser
import Foundation
import IntermeshClient
import IntermeshServer
import IntermeshStore

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
            var body: [String: Any] = ["role": role]
            if let run { body["run"] = run }
            if let site { body["site"] = site }
            if let description { body["description"] = description }
            do {
                let response: TokenResponse = try await client.client().post("/v1/tokens", json: body)
                Terminal.stdout.write(response.token + "\n")
            } catch let error as APIClientError {
                throw error.cliError
            }
        }
    }
}
