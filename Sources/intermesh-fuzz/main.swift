import Foundation
import IntermeshFuzzing

// intermesh-fuzz TARGET FILE...: replays files through a fuzz target; exit 1 when one fails its checks.
// scripts/fuzz.sh builds this product with -sanitize=fuzzer and -D INTERMESH_LIBFUZZER, and then
// intermesh-fuzz TARGET [libFuzzer flags] [CORPUS...] is libFuzzer's driver (LibFuzzer.swift).
let arguments = CommandLine.arguments

#if INTERMESH_LIBFUZZER
// libFuzzer runs itself again for -merge and -fork with its own flags only: the target then comes from the environment.
let named = arguments.count >= 2 ? FuzzTarget(rawValue: arguments[1]) : nil
guard let target = named ?? ProcessInfo.processInfo.environment[LibFuzzer.targetVariable].flatMap(FuzzTarget.init(rawValue:)) else {
    FileHandle.standardError.write(Data("usage: intermesh-fuzz TARGET [libFuzzer flags] [CORPUS...]; TARGET is one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
    exit(2)
}
exit(LibFuzzer.run(target, arguments: [arguments[0]] + arguments.dropFirst(named == nil ? 1 : 2)))
#else
guard arguments.count >= 2, let target = FuzzTarget(rawValue: arguments[1]) else {
    FileHandle.standardError.write(Data("usage: intermesh-fuzz TARGET FILE...; TARGET is one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
    exit(2)
}
var failed = false
for path in arguments.dropFirst(2) {
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("intermesh-fuzz: cannot read \(path)\n".utf8))
        exit(2)
    }
    if let failure = target.check(data) {
        print("\(path): \(failure)")
        failed = true
    }
}
exit(failed ? 1 : 0)
#endif
