import Foundation

/// What the fuzzers feed with arbitrary bytes: the spec loader and the API's request-body decoders.
///
/// A target returns normally for any input the code under test handles as it should (accepted, or refused with a
/// clear error); it stops the process with a message when one of its properties fails, which libFuzzer reports as
/// a crash and keeps the input. The tests replay the kept inputs (`Tests/FuzzCorpus/TARGET/`) through the same
/// functions.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// YAML text in, a run or located diagnostics out, as `validate`, `plan` and `POST /v1/runs` load it.
    case spec
    /// A request body of one of the API's write endpoints: the first byte picks the endpoint, the rest is the body.
    case api

    /// Runs one input; nil when every property held, else what failed.
    public func check(_ data: Data) -> String? {
        switch self {
        case .spec: SpecProperties.check(data)
        case .api: APIBodyProperties.check(data)
        }
    }
}
