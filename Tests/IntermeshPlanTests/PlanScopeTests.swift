import Foundation
import IntermeshPlan
import IntermeshSpec
import Testing

/// An agent reads the plan scoped to its site: its own site whole, the others reduced to what its replicas reach.
struct PlanScopeTests {
    func mixed() throws -> TrainingRun {
        let text = try String(contentsOfFile: Repo.path("specs/mixed.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "    - name: donated\n", with: "    - name: donated\n      env: {NCCL_SOCKET_IFNAME: wg0}\n")
        return try Repo.run(text: text)
    }

    @Test func anAgentSeesItsSiteWholeAndOnlyTheOthersAddresses() throws {
        let (plan, files) = try Repo.compile(try mixed())
        let scoped = plan.scoped(to: "campus-cluster")
        #expect(scoped.contentHash == plan.contentHash)
        #expect(scoped.site(named: "campus-cluster") == plan.site(named: "campus-cluster"))
        #expect(scoped.run.spec.sites.first { $0.name == "campus-cluster" } == plan.run.spec.sites.first { $0.name == "campus-cluster" })

        let donated = try #require(scoped.site(named: "donated")), full = try #require(plan.site(named: "donated"))
        // What the ring and recovery need of the other site stays: slots, hosts, ranks, ports, shards.
        #expect(donated.replicas.map(\.slot) == full.replicas.map(\.slot))
        #expect(donated.replicas.map(\.host) == full.replicas.map(\.host))
        #expect(donated.replicas.map(\.ports) == full.replicas.map(\.ports))
        #expect(donated.replicas.map(\.ranks) == full.replicas.map(\.ranks))
        #expect(donated.replicas.map(\.dataShard) == full.replicas.map(\.dataShard))
        #expect(scoped.totalReplicas == plan.totalReplicas && scoped.run.spec.totalReplicas == plan.run.spec.totalReplicas)
        // What launches it does not: environment, commands, files, the ssh user and port.
        #expect(full.env["NCCL_SOCKET_IFNAME"] == "wg0" && donated.env.isEmpty)
        #expect(donated.replicas.allSatisfy { $0.env.isEmpty && $0.command.isEmpty && $0.launchSignature.isEmpty })
        #expect(!full.files.isEmpty && donated.files.isEmpty)
        let launcher = try #require(scoped.run.spec.sites.first { $0.name == "donated" }?.launcher)
        #expect(launcher.kind == .ssh && launcher.user == nil && launcher.port == nil && launcher.hosts.isEmpty)
        #expect(scoped.run.spec.sites.first { $0.name == "donated" }?.env.isEmpty == true)
        let text = String(decoding: PlanWriter.json(scoped), as: UTF8.self)
        #expect(!text.contains("wg0") && !text.contains("\"trainer\""))

        // The agent renders its own site from the scoped plan: the same files as from the whole plan.
        var view = scoped
        let rendered = try LaunchRenderer(templates: Repo.templates).render(&view, onlySite: "campus-cluster")
        let own = files.filter { $0.path.hasPrefix("sites/campus-cluster/") }
        #expect(!own.isEmpty && rendered.map(\.path) == own.map(\.path) && rendered.map(\.sha256) == own.map(\.sha256))
        #expect(view.site(named: "campus-cluster")?.files == plan.site(named: "campus-cluster")?.files)
    }
}
