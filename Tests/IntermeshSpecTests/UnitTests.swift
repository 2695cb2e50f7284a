import Testing
@testable import IntermeshSpec

@Suite struct UnitTests {
    @Test(arguments: [
        ("30s", 30_000, "30s"), ("500ms", 500, "500ms"), ("5m", 300_000, "5m"), ("1h30m", 5_400_000, "1h30m"),
        ("90s", 90_000, "1m30s"), ("2.5s", 2500, "2s500ms"), ("2d", 172_800_000, "2d"), (" 10s ", 10_000, "10s"),
    ] as [(String, Int64, String)])
    func durations(_ text: String, _ ms: Int64, _ canonical: String) {
        let value = DurationValue(parsing: text)
        #expect(value?.milliseconds == ms)
        #expect(value?.description == canonical)
    }

    @Test(arguments: ["", "10", "s", "10 seconds", "1x", "-5s", "1e3s", "m5"])
    func invalidDurations(_ text: String) {
        #expect(DurationValue(parsing: text) == nil)
    }

    @Test(arguments: [
        ("500Mbps", 5e8, "500Mbps"), ("4Gbps", 4e9, "4Gbps"), ("1.5Gbps", 1.5e9, "1.5Gbps"), ("100Mb/s", 1e8, "100Mbps"),
        ("10kbps", 1e4, "10Kbps"), ("1Tbps", 1e12, "1Tbps"),
    ] as [(String, Double, String)])
    func bandwidths(_ text: String, _ bits: Double, _ canonical: String) {
        let value = Bandwidth(parsing: text)
        #expect(value?.bitsPerSecond == bits)
        #expect(value?.description == canonical)
    }

    @Test(arguments: ["", "100", "1GB", "fast", "0Mbps", "-1Gbps"])
    func invalidBandwidths(_ text: String) {
        #expect(Bandwidth(parsing: text) == nil)
    }

    @Test(arguments: [
        ("1T", 1_000_000_000_000, "1T"), ("10B", 10_000_000_000, "10B"), ("250M", 250_000_000, "250M"),
        ("64K", 64_000, "64K"), ("1234", 1234, "1234"), ("1_000", 1000, "1K"), ("1.5T", 1_500_000_000_000, "1.5T"),
        ("2G", 2_000_000_000, "2B"),
    ] as [(String, UInt64, String)])
    func quantities(_ text: String, _ value: UInt64, _ canonical: String) {
        let parsed = Quantity(parsing: text)
        #expect(parsed?.value == value)
        #expect(parsed?.description == canonical)
    }

    @Test(arguments: ["", "lots", "1X", "-1T", "1e30"])
    func invalidQuantities(_ text: String) {
        #expect(Quantity(parsing: text) == nil)
    }

    @Test(arguments: [
        ("replics", ["replicas", "region"], "replicas"), ("Replicas", ["replicas"], "replicas"),
        ("trainig", ["training", "data"], "training"), ("zzz", ["replicas", "region"], nil),
    ] as [(String, [String], String?)])
    func didYouMean(_ input: String, _ candidates: [String], _ expected: String?) {
        #expect(DidYouMean.suggestion(for: input, among: candidates) == expected)
    }

    @Test(arguments: [
        (StringFormat.dnsLabel, "us-east-1", true), (.dnsLabel, "US", false), (.dnsLabel, "a_b", false),
        (.dnsLabel, "-a", false), (.dnsLabel, "a-", false), (.dnsLabel, String(repeating: "a", count: 64), false),
        (.hostname, "node-1.example.net", true), (.hostname, "10.0.0.1", true), (.hostname, "a;b", false),
        (.hostname, "a..b", false), (.envName, "NCCL_DEBUG", true), (.envName, "1X", false), (.envName, "A-B", false),
        (.path, "/data/x y.txt", true), (.path, "a\nb", false), (.text, "tab\tok", true), (.text, "bell\u{07}", false),
        (.word, "gpu.large", true), (.word, "gpu large", false),
    ] as [(StringFormat, String, Bool)])
    func stringFormats(_ format: StringFormat, _ value: String, _ ok: Bool) {
        #expect((format.problem(with: value) == nil) == ok)
    }
}
