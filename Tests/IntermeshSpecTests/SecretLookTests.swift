import Testing
@testable import IntermeshSpec

@Suite struct SecretLookTests {
    static let cases: [(name: String, value: String, secret: Bool)] = [
        ("HF_TOKEN", "x", true),
        ("WANDB_API_KEY", "x", true),
        ("AWS_SECRET_ACCESS_KEY", "x", true),
        ("DB_PASSWORD", "x", true),
        ("GOOGLE_APPLICATION_CREDENTIALS", "/etc/key.json", false),
        ("UPLOAD", "hf_abcdefghijklmnop", true),
        ("KEY_FILE", "-----BEGIN PRIVATE KEY-----MIIEvQ", true),
        ("MIRROR", "https://user:pw@host.example/data", true),
        ("TOKENIZERS_PARALLELISM", "false", false),
        ("MAX_TOKENS", "4096", false),
        ("KEYBOARD", "us", false),
        ("HOMEPAGE", "https://example.net/a@b", false),
        ("PREFIX", "sk-", false),
        ("OMP_NUM_THREADS", "4", false),
    ]

    @Test(arguments: cases)
    func namesAndValuesThatLookLikeSecrets(_ entry: (name: String, value: String, secret: Bool)) {
        #expect((SecretLook.reason(name: entry.name, value: entry.value) != nil) == entry.secret, "\(entry.name)=\(entry.value)")
    }
}
