import ArgumentParser
import Foundation
import IntermeshClient
import IntermeshTLS

/// `--server` and `--token` of every command that talks to the control plane.
struct ClientOptions: ParsableArguments {
    @Option(help: "Control plane URL, or several comma-separated (servers sharing a store: requests follow the active one) (default: $INTERMESH_SERVER, then http://127.0.0.1:7700).")
    var server: String?

    @Option(help: "Bearer token (default: $INTERMESH_TOKEN). Prefer --token-file: arguments are visible to other users.")
    var token: String?

    @Option(help: "File holding the bearer token.")
    var tokenFile: String?

    @Option(help: "The authority (PEM) the server's TLS certificate must chain to (default: $INTERMESH_CA; else the system's).")
    var caFile: String?

    func client() throws -> APIClient {
        var token = self.token
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw CLIError("\(tokenFile): cannot read the token file")
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var tls = ClientTLS(environment: ProcessInfo.processInfo.environment)
        if let caFile { tls.caFile = caFile }
        return APIClient(server: server, token: token, tls: tls)
    }
}

extension APIClientError {
    /// Exit code for a server answer: 2 for unreachable, usage and auth problems; 1 for a refused change.
    var exitCode: Int32 {
        switch status {
        case 409, 422: return 1
        default: return 2
        }
    }

    var cliError: CLIError { CLIError(description, code: exitCode) }
}

/// Output of commands that print data.
enum DataFormat: String, ExpressibleByArgument, CaseIterable {
    case table
    case json
    case yaml
}
