import Testing
@testable import IntermeshAPI

/// The replica id the plan hands torchft groups, as the Lighthouse endpoint reads it back.
@Suite struct TorchftReplicaIDTests {
    @Test(arguments: [
        ("demo/alpha/0/3f2a-b1/0", "demo", "alpha/0", "3f2a-b1", 0),
        ("demo/alpha/12/m-1/7:6a1c2d7e-8b3f-4c55-9d2a-0f1e2d3c4b5a", "demo", "alpha/12", "m-1", 7),
        ("run-1/us-east-2/3/2b9e0c1d-3f4a-4b5c-8d6e-7f8091a2b3c4/41:x", "run-1", "us-east-2/3", "2b9e0c1d-3f4a-4b5c-8d6e-7f8091a2b3c4", 41),
    ])
    func parses(text: String, run: String, slot: String, member: String, global: Int) throws {
        let id = try TorchftReplicaID.parse(text)
        #expect(id.run == run)
        #expect(id.slot == slot)
        #expect(id.member == member)
        #expect(id.globalIndex == global)
        #expect(try TorchftReplicaID.parse(id.text) == id)
    }

    @Test(arguments: [
        "", "train_ddp_0:6a1c", "demo/alpha/0/m-1", "demo/alpha/0/m-1/0/extra", "Demo/alpha/0/m-1/0", "demo/alpha/-1/m-1/0",
        "demo/alpha/01/m-1/0", "demo/alpha/0/m_1/0", "demo/alpha/0/m-1/x", "demo//0/m-1/0", "-demo/alpha/0/m-1/0",
        "demo/alpha/0/m-1/99999999", String(repeating: "a", count: 500),
    ])
    func refuses(text: String) {
        #expect(throws: TorchftReplicaID.ParseError.self) { try TorchftReplicaID.parse(text) }
    }

    @Test(arguments: [
        ("http://127.0.0.1:7700", 7710, "http://127.0.0.1:7710"),
        ("https://cp.example.org:443/base", 29510, "http://cp.example.org:29510"),
        ("http://[::1]:7700", 7710, "http://[::1]:7710"),
    ])
    func lighthouseAddress(server: String, port: Int, expected: String) {
        #expect(LighthouseAddress.url(server: server, port: port) == expected)
    }

    @Test func noLighthouseAddressWithoutAHostOrAPort() {
        #expect(LighthouseAddress.url(server: "not a url", port: 7710) == nil)
        #expect(LighthouseAddress.url(server: "http://127.0.0.1:7700", port: 0) == nil)
    }
}
