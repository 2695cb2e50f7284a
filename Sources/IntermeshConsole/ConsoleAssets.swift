import Crypto
import Foundation

/// The console's page, script and style sheet, compiled into the binary: `intermesh serve` needs no files beside it.
public enum ConsoleAssets {
    public struct File: Sendable {
        public var bytes: [UInt8]
        public var contentType: String
        /// A strong validator of the content, for caches.
        public var etag: String
    }

    static let files: [String: File] = [
        "index.html": make(PackageResources.index_html, "text/html; charset=utf-8"),
        "console.js": make(PackageResources.console_js, "text/javascript; charset=utf-8"),
        "console.css": make(PackageResources.console_css, "text/css; charset=utf-8"),
    ]

    public static func file(named name: String) -> File? {
        files[name]
    }

    static func make(_ bytes: [UInt8], _ type: String) -> File {
        File(bytes: bytes, contentType: type, etag: "\"" + SHA256.hash(data: bytes).prefix(8).map { String(format: "%02x", $0) }.joined() + "\"")
    }
}
