import ArgumentParser
import Foundation
import IntermeshTLS

/// `intermesh ca init --dir D` and `intermesh ca issue NAME --dir D --host H...`: a private certificate authority for a
/// run's control plane, agents and operators.
struct CACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca", abstract: "A private certificate authority for the control plane and its clients.",
        discussion: """
        intermesh ca init --dir ca
        intermesh ca issue server --dir ca --host cp.example.net --host 10.0.0.5
        intermesh serve --listen 0.0.0.0:7700 --tls-cert ca/server.pem --tls-key ca/server.key
        INTERMESH_CA=ca/ca.pem intermesh get runs --server https://cp.example.net:7700
        """,
        subcommands: [Init.self, Issue.self])

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "init", abstract: "Create an authority: DIR/ca.pem and DIR/ca.key (0600).")

        @Option(help: "Where the authority's files go.")
        var dir: String

        @Option(help: "The authority's common name.")
        var name: String = "Intermesh CA"

        func run() throws {
            do {
                try CertificateAuthority.create(in: URL(fileURLWithPath: dir), name: name)
            } catch {
                throw CLIError("\(error)")
            }
            Terminal.stdout.write("authority in \(dir)/ca.pem (give it to clients as --ca-file or $INTERMESH_CA); its key \(dir)/ca.key stays here\n")
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issue", abstract: "Sign a certificate for a server (--host) or a client (agents, operators, for mutual TLS).")

        @Argument(help: "The certificate's name: its files are NAME.pem and NAME.key.")
        var name: String

        @Option(help: "The authority's directory (from `ca init`).")
        var dir: String

        @Option(help: "A DNS name or IP address the certificate is valid for (repeat it); a server needs at least one.")
        var host: [String] = []

        @Option(help: "Where to write the files (default: --dir).")
        var out: String?

        @Option(help: "Days the certificate is valid.")
        var days: Int = 397

        func validate() throws {
            guard (1...3650).contains(days) else { throw ValidationError("--days must be 1 to 3650, got \(days)") }
        }

        func run() throws {
            let files: (certificate: URL, key: URL)
            do {
                let authority = try CertificateAuthority.load(from: URL(fileURLWithPath: dir))
                files = try authority.issue(name: name, hosts: host, in: URL(fileURLWithPath: out ?? dir), days: days)
            } catch {
                throw CLIError("\(error)")
            }
            Terminal.stdout.write("certificate \(files.certificate.path), key \(files.key.path) (0600)\n")
        }
    }
}
