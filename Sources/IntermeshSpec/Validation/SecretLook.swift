/// Whether an environment variable looks like it carries a credential: by its name (`HF_TOKEN`, `DB_PASSWORD`), or
/// by the shape of its value (the prefixes of common providers' tokens, a PEM key, a URL with a password).
public enum SecretLook {
    /// Words of a name (split at '_') that mark a secret, alone or as a pair: `HF_TOKEN` and `AWS_SECRET_ACCESS_KEY` do;
    /// `TOKENIZERS_PARALLELISM`, `MAX_TOKENS` and `GOOGLE_APPLICATION_CREDENTIALS` (a path) do not.
    static let nameWords: Set<String> = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL", "APIKEY"]
    static let namePairs: Set<String> = ["API_KEY", "ACCESS_KEY", "PRIVATE_KEY", "SECRET_KEY", "AUTH_KEY", "SIGNING_KEY"]
    static let valuePrefixes = ["hf_", "sk-", "sk_live_", "ghp_", "gho_", "github_pat_", "glpat-", "xoxb-", "xoxp-", "AKIA", "ASIA", "AIza",
                                "imt_", "-----BEGIN"]

    /// Why it looks like a secret; nil when it does not.
    public static func reason(name: String, value: String) -> String? {
        let words = name.uppercased().split(separator: "_").map(String.init)
        if let word = words.first(where: nameWords.contains) { return "looks like a secret (its name has \(word))" }
        if let pair = zip(words, words.dropFirst()).map({ "\($0)_\($1)" }).first(where: namePairs.contains) {
            return "looks like a secret (its name has \(pair))"
        }
        if let prefix = valuePrefixes.first(where: { value.hasPrefix($0) && value.count >= $0.count + 8 }) {
            return "looks like a secret (its value starts with \(prefix))"
        }
        if let scheme = value.range(of: "://"), let at = value[scheme.upperBound...].firstIndex(of: "@"),
           value[scheme.upperBound..<at].contains(":") {
            return "looks like a secret (its value is a URL with a password)"
        }
        return nil
    }
}
