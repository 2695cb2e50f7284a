#if INTERMESH_LIBFUZZER
import CFuzzer
import Foundation
import IntermeshFuzzing

/// Hands the command line to libFuzzer with one target; a failed check aborts, so libFuzzer keeps the input.
enum LibFuzzer {
    /// The target the callback runs (a C callback captures nothing); set once, before libFuzzer starts.
    nonisolated(unsafe) static var target = FuzzTarget.spec

    /// Names the target for the copies of this program libFuzzer starts (`-merge`, `-fork`).
    static let targetVariable = "INTERMESH_FUZZ_TARGET"

    static func run(_ target: FuzzTarget, arguments: [String]) -> CInt {
        self.target = target
        setenv(targetVariable, target.rawValue, 1)
        var argc = CInt(arguments.count)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        return argv.withUnsafeMutableBufferPointer { buffer in
            var pointer = buffer.baseAddress
            return LLVMFuzzerRunDriver(&argc, &pointer) { data, size in
                let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
                if let failure = LibFuzzer.target.check(bytes) {
                    FileHandle.standardError.write(Data("intermesh-fuzz \(LibFuzzer.target.rawValue): \(failure)\n".utf8))
                    abort()
                }
                return 0
            }
        }
    }
}

/// libFuzzer's library refers to this symbol even when a program drives it through LLVMFuzzerRunDriver.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    0
}
#endif
