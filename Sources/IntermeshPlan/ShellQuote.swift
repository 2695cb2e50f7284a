/// POSIX shell quoting: every value that reaches a shell goes through here.
public enum ShellQuote {
    /// Runtime variables a launch file may expand inside otherwise literal text, set by the agent or the script.
    public static let runtimeVariables = ["INTERMESH_REPLICA_DIR", "INTERMESH_PLAN_DIR", "INTERMESH_MEMBER_ID", "INTERMESH_SERVER"]

    /// A command line: each word literal; the first is quoted whenever it could read as an assignment.
    public static func command(_ argv: [String]) -> String {
        argv.enumerated().map { index, word in
            index == 0 && word.contains("=") ? strictQuote(word) : quoteAllowingRuntime(word)
        }.joined(separator: " ")
    }

    /// The word as one shell word, literal: safe characters as they are, everything else single-quoted.
    public static func quote(_ word: String) -> String {
        if !word.isEmpty, word.unicodeScalars.allSatisfy(isSafe) { return word }
        return strictQuote(word)
    }

    static func strictQuote(_ word: String) -> String {
        return "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    /// Like `quote`, but `${NAME}` of a runtime variable stays expandable (in double quotes); the rest is literal.
    public static func quoteAllowingRuntime(_ word: String) -> String {
        var out = ""
        var rest = Substring(word)
        while let open = rest.range(of: "${") {
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else { break }
            let name = String(rest[open.upperBound..<close])
            guard runtimeVariables.contains(name) else {
                out += quotedPiece(String(rest[..<rest.index(after: close)]))
                rest = rest[rest.index(after: close)...]
                continue
            }
            out += quotedPiece(String(rest[..<open.lowerBound]))
            out += "\"${\(name)}\""
            rest = rest[rest.index(after: close)...]
        }
        out += quotedPiece(String(rest))
        return out.isEmpty ? "''" : out
    }

    private static func quotedPiece(_ piece: String) -> String {
        piece.isEmpty ? "" : quote(piece)
    }

    static func isSafe(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
            || "_./:@%+,=-".unicodeScalars.contains(scalar)
    }
}

private extension Substring {
    func range(of needle: String) -> Range<Index>? {
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(needle) { return index..<self.index(index, offsetBy: needle.count) }
            index = self.index(after: index)
        }
        return nil
    }
}
