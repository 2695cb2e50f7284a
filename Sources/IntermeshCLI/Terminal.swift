import Foundation
import IntermeshSpec
import Rainbow

/// An output stream that knows whether it is a terminal; colour only on a terminal.
struct Terminal: Sendable {
    enum Tone { case error, warning, emphasis, good, dim }

    let descriptor: Int32
    let isTerminal: Bool

    static let stdout = Terminal(descriptor: STDOUT_FILENO)
    static let stderr = Terminal(descriptor: STDERR_FILENO)

    init(descriptor: Int32) {
        self.descriptor = descriptor
        let environment = ProcessInfo.processInfo.environment
        self.isTerminal = isatty(descriptor) == 1 && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb"
    }

    func paint(_ text: String, _ tone: Tone) -> String {
        guard isTerminal else { return text }
        switch tone {
        case .error: return text.red.bold
        case .warning: return text.yellow.bold
        case .emphasis: return text.bold
        case .good: return text.green
        case .dim: return text.dim
        }
    }

    func write(_ text: String) {
        FileHandle(fileDescriptor: descriptor, closeOnDealloc: false).write(Data(text.utf8))
    }

    var diagnosticStyle: DiagnosticRenderer.Style {
        guard isTerminal else { return .plain }
        return DiagnosticRenderer.Style(
            error: { $0.red.bold }, warning: { $0.yellow.bold }, emphasis: { $0.bold }, caret: { $0.green.bold })
    }
}
