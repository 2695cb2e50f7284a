import ArgumentParser
import Foundation
import IntermeshAPI
import IntermeshClient
import IntermeshSpec

/// `intermesh token create --role ROLE [--run R --site S] [--ttl 24h]`, `token list`, `token revoke ID`.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Manage API tokens.",
                                                    subcommands: [Create.self, List.self, Revoke.self])

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

        @Option(help: "How long the token is valid (30m, 24h, 90d); without it the token does not expire.")
        var ttl: String?

        @OptionGroup var client: ClientOptions

        func validate() throws {
            guard Role(rawValue: role) != nil else {
                throw ValidationError("--role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", ")), got '\(role)'")
            }
            if let ttl { _ = try Self.seconds(ttl) }
        }

        /// Whole seconds of a `--ttl` value, at least one.
        static func seconds(_ text: String) throws -> Int {
            guard let duration = DurationValue(parsing: text), duration.milliseconds >= 1000,
                  duration.seconds <= Double(TokenRequest.maxTTLSeconds) else {
                throw ValidationError("--ttl must be a duration from 1s to 10 years (30m, 24h, 90d), got '\(text)'")
            }
            return Int(duration.seconds)
        }

        func run() async throws {
            do {
                let request = TokenRequest(role: Role(rawValue: role) ?? .viewer, run: run, site: site, description: description,
                                           ttlSeconds: try ttl.map(Self.seconds))
                let response = try await client.client().createToken(request)
                Terminal.stdout.write(response.token + "\n")
            } catch let error as APIClientError {
                throw error.cliError
            }
        }
    }
}

extension TokenCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List tokens (never their secrets); admin only.")

        @Option(name: .shortAndLong, help: "table, json or yaml.")
        var output: DataFormat = .table

        @OptionGroup var client: ClientOptions

        func run() async throws {
            do {
                let tokens = try await client.client().tokens()
                let format = ISO8601DateFormatter()
                Terminal.stdout.write(try Rendering.render(tokens, table: [["ID", "ROLE", "RUN", "SITE", "CREATED", "EXPIRES", "DESCRIPTION"]] + tokens.map {
                    [$0.id, $0.role.rawValue, $0.run ?? "-", $0.site ?? "-", format.string(from: $0.createdAt),
                     $0.expiresAt.map(format.string(from:)) ?? "never", $0.description]
                }, format: output))
            } catch let error as APIClientError {
                throw error.cliError
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a token; its next request is refused.")

        @Argument(help: "The token's id (the ten hex digits after imt_, as `token list` shows).")
        var id: String

        @OptionGroup var client: ClientOptions

        func validate() throws {
            guard id.count == 10, id.allSatisfy(\.isHexDigit) else { throw ValidationError("a token id is ten hex digits, got '\(id)'") }
        }

        func run() async throws {
            do {
                _ = try await client.client().revokeToken(id: id)
                Terminal.stdout.write("token \(id) revoked\n")
            } catch let error as APIClientError {
                throw error.cliError
            }
        }
    }
}
