import Foundation
import Testing

/// A site with the `ssh` launcher, against a private sshd on loopback: its replica runs in an ssh session, gets
/// the agent token and the run's secrets over stdin (never on a command line), and ends with its ssh client.
@Suite(.serialized) struct SshTests {
    static let sshd = "/usr/sbin/sshd"

    /// An sshd on 127.0.0.1:`port` that lets in the holder of the returned key, with host key and config in `directory`.
    static func startSSHD(port: Int, directory: URL) throws -> (pid: Int32, key: String) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let host = directory.appendingPathComponent("host_ed25519").path
        let client = directory.appendingPathComponent("client_ed25519").path
        for key in [host, client] {
            let (status, output) = try runProgram(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key])
            try #require(status == 0, "ssh-keygen: \(output)")
        }
        try FileManager.default.copyItem(atPath: client + ".pub", toPath: directory.appendingPathComponent("authorized_keys").path)
        let config = directory.appendingPathComponent("sshd_config")
        try """
        Port \(port)
        ListenAddress 127.0.0.1
        HostKey \(host)
        AuthorizedKeysFile \(directory.appendingPathComponent("authorized_keys").path)
        PidFile \(directory.appendingPathComponent("sshd.pid").path)
        StrictModes no
        UsePAM no
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        PermitRootLogin prohibit-password

        """.write(to: config, atomically: true, encoding: .utf8)
        // Without -D sshd forks into the background once it listens: ready when this returns, and not a child of the tests.
        let (status, output) = try runProgram([sshd, "-f", config.path, "-E", directory.appendingPathComponent("sshd.log").path])
        try #require(status == 0, "sshd: \(output)")
        // The daemon writes its pid file a moment after the parent exits.
        let pidFile = directory.appendingPathComponent("sshd.pid").path
        let deadline = Date().addingTimeInterval(10)
        while Int32(contents(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)) == nil, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let pid = try #require(Int32(contents(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)), "sshd wrote no pid file")
        return (pid, client)
    }

    /// /proc/PID/stat: (command, parent).
    static func stat(_ pid: Int32) -> (command: String, parent: Int32)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 1, let parent = Int32(fields[1]) else { return nil }
        return (String(text[text.index(after: open)..<close]), parent)
    }

    static func contents(_ path: String) -> String {
        String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }

    /// The trainer processes of gamma's replica (the remote side of the ssh session).
    static func remoteTrainers(_ up: UpProcess) -> [Int32] {
        up.processes().filter { pid in
            stat(pid)?.command == "intermesh-train" && contents("/proc/\(pid)/environ").contains("INTERMESH_SLOT=gamma/0")
        }
    }

    @Test func anSshSiteTrainsThroughItsSessionAndStopsWithIt() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.sshd), "no sshd: scripts/setup.sh installs openssh-server")
        let up = UpProcess(port: 7750)
        let directory = up.data.deletingLastPathComponent().appendingPathComponent("sshd-\(UUID())")
        let (sshd, key) = try Self.startSSHD(port: 26522, directory: directory)
        defer {
            up.cleanUp()
            kill(sshd, SIGTERM)
            try? FileManager.default.removeItem(at: directory)
        }
        let trainer = URL(fileURLWithPath: UpProcess.binary).deletingLastPathComponent().appendingPathComponent("intermesh-trainer").path
        let secret = "s3cret-\(UUID().uuidString)"
        let spec = try localSpec(replacing: [
            // The remote shell starts in the home directory and with its own PATH: the spec says where to run what.
            ("    entrypoint: intermesh-trainer\n",
             "    entrypoint: \(trainer)\n    workingDirectory: \(UpProcess.root.path)\n    secretEnv: [SSH_TEST_SECRET]\n"),
            ("      bandwidth: 500Mbps\n      launcher:\n        kind: local\n", """
                  bandwidth: 500Mbps
                  launcher:
                    kind: ssh
                    hosts: [localhost]
                    user: root
                    port: 26522
                    identityFile: \(key)
                    extraArgs: [-o, StrictHostKeyChecking=no, -o, UserKnownHostsFile=/dev/null, -o, LogLevel=ERROR]

            """),
        ])
        try up.up(spec, environment: ["SSH_TEST_SECRET": secret])
        try up.wait("gamma/0 in a quorum of 3", timeout: 180) {
            up.outerEvents(site: "gamma").contains { ($0["quorum"] as? [String])?.count == 3 }
        }

        // The replica runs under sshd, not under the agent: its ssh client is what the agent supervises.
        let client = Int32(try #require(up.replicas(site: "gamma").first?["pid"] as? Int))
        #expect(Self.stat(client)?.command == "ssh")
        let remote = try #require(Self.remoteTrainers(up).first, "gamma's trainer runs")
        var ancestors: [String] = []
        var pid = remote
        while pid > 1, let info = Self.stat(pid) {
            ancestors.append(info.command)
            pid = info.parent
        }
        #expect(ancestors.contains("sshd") || ancestors.contains { $0.hasPrefix("sshd") }, "\(ancestors)")
        #expect(!ancestors.contains("intermesh"), "\(ancestors)")
        // The secret is in the replica's environment, and on no command line, in no plan file and no log.
        #expect(Self.contents("/proc/\(remote)/environ").contains("SSH_TEST_SECRET=\(secret)"))
        for pid in up.processes() + [client] {
            #expect(!Self.contents("/proc/\(pid)/cmdline").contains(secret), "pid \(pid) has the secret on its command line")
        }
        var files: [String] = []
        for case let file as URL in FileManager.default.enumerator(at: up.data, includingPropertiesForKeys: [.isRegularFileKey]) ?? .init()
        where (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            if Self.contents(file.path).contains(secret) { files.append(file.path) }
        }
        #expect(files.isEmpty, "files with the secret: \(files)")

        // kill -9 of the ssh client: the remote replica is stopped with it, the agent relaunches the slot.
        let before = up.outerEvents(site: "alpha").last?["outer_step"] as? Int ?? 0
        kill(client, SIGKILL)
        try up.wait("the remote replica stopped with its client", timeout: 30) { !Self.remoteTrainers(up).contains(remote) }
        try up.wait("gamma/0 relaunched and back in a quorum", timeout: 180) {
            up.log(site: "gamma").contains { $0["event"] as? String == "recovered" }
                && up.outerEvents(site: "gamma").contains { ($0["outer_step"] as? Int ?? 0) > before + 1 }
        }
        let relaunched = try #require(up.replicas(site: "gamma").first?["pid"] as? Int)
        #expect(Int32(relaunched) != client)
        #expect(Self.remoteTrainers(up).count == 1)

        // Ctrl-C stops everything, the remote side included.
        #expect(try up.interrupt() == 0)
        try up.wait("no process left", timeout: 30) { up.processes().isEmpty }
    }
}
