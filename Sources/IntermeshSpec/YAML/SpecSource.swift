import Foundation

/// The text of a spec file, read with the checks that come before any parsing: size, encoding, emptiness.
public struct SpecSource: Sendable {
    /// Largest spec file accepted; a real run spec is a few kilobytes.
    public static let maxBytes = 4 * 1024 * 1024

    public var name: String
    public var text: String

    public init(name: String, text: String) {
        self.name = name
        self.text = text
    }

    /// Reads a file; an I/O problem is thrown, a content problem is returned as a diagnostic.
    public static func read(path: String) throws(SpecSourceError) -> Result<SpecSource, Diagnostic> {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SpecSourceError(path: path, message: "no such file")
        }
        if isDirectory.boolValue {
            throw SpecSourceError(path: path, message: "is a directory, expected a YAML file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SpecSourceError(path: path, message: "cannot be read (permission denied?)")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            // Read one byte past the limit so an oversize file is detected without reading all of it.
            data = try handle.read(upToCount: maxBytes + 1) ?? Data()
        } catch {
            throw SpecSourceError(path: path, message: "cannot be read: \(error.localizedDescription)")
        }
        return decode(name: path, data: data)
    }

    /// Checks raw bytes and turns them into a source; the diagnostic explains a refusal.
    public static func decode(name: String, data: Data) -> Result<SpecSource, Diagnostic> {
        if data.count > maxBytes {
            return .failure(.error("file is larger than the \(maxBytes / (1024 * 1024)) MiB limit for a spec", at: nil))
        }
        let bytes = [UInt8](data)
        if let bad = firstInvalidUTF8(bytes) {
            return .failure(.error(
                "file is not valid UTF-8 (byte 0x\(String(bytes[bad], radix: 16, uppercase: true)) at offset \(bad))",
                at: location(ofByte: bad, in: bytes)))
        }
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        if text.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) {
            return .failure(.error("file is empty; expected a TrainingRun document", at: nil))
        }
        return .success(SpecSource(name: name, text: text))
    }

    /// The text's lines as the YAML parser counts them (and so as diagnostics number them): a line ends at LF,
    /// CR LF, a lone CR, NEL, or the Unicode line and paragraph separators.
    public static func lines(of text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false) { character in
            switch character {
            case "\n", "\r", "\r\n", "\u{85}", "\u{2028}", "\u{2029}": true
            default: false
            }
        }
    }

    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        // Track the start of each scalar so the reported offset is the first bad byte.
        var consumed = 0
        while true {
            switch decoder.decode(&iterator) {
            case let .scalarValue(scalar):
                consumed += UTF8.width(scalar)
                offset = consumed
            case .emptyInput:
                return nil
            case .error:
                return offset
            }
        }
    }

    /// Where a byte is, with lines counted as `lines(of:)` counts them. The bytes before it are valid UTF-8 (it is the
    /// first invalid one), so they decode as they are.
    static func location(ofByte offset: Int, in bytes: [UInt8]) -> SourceLocation {
        let before = lines(of: String(decoding: bytes[..<offset], as: UTF8.self))
        return SourceLocation(line: before.count, column: (before.last?.unicodeScalars.count ?? 0) + 1)
    }
}

/// A spec file that could not be read at all (missing, a directory, unreadable): a usage or I/O error.
public struct SpecSourceError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String

    public var description: String { "\(path): \(message)" }
}
