import Foundation
import IntermeshAPI
import Testing

@Suite struct WireCodingTests {
    @Test(arguments: [
        ("m-3-17", true), ("", false), ("0f8fad5b-d9cb-469f-a165-70867728950e", true), ("é", false), ("a b", false),
        ("a;b", false), (String(repeating: "a", count: 64), true), (String(repeating: "a", count: 65), false),
    ])
    func memberIds(id: String, valid: Bool) {
        #expect(MemberBeat.isValid(id: id) == valid)
    }

    @Test func errorsHaveOneShape() throws {
        let data = try WireCoding.encoder.encode(ErrorBody(code: "not_found", message: "no run named x"))
        #expect(String(decoding: data, as: UTF8.self) == #"{"error":{"code":"not_found","message":"no run named x"}}"#)
        let detailed = try WireCoding.decoder.decode(ErrorBody.self, from: Data(#"{"error":{"code":"invalid_spec","message":"m","details":["a"]}}"#.utf8))
        #expect(detailed.error.details == ["a"])
    }

    /// Enums on the wire are the strings scripts and older members read.
    @Test func enumsTravelAsStrings() throws {
        let answer = QuorumResponse(status: .formed, quorum: QuorumDecision(id: 7, step: 3, slots: ["a/0"]),
                                    ring: [RingMember(slot: "a/0", host: "127.0.0.1", ringPort: 1, controlPort: 2)])
        let text = String(decoding: try WireCoding.encoder.encode(answer), as: UTF8.self)
        #expect(text.contains(#""status":"formed""#))
        let directive = String(decoding: try WireCoding.encoder.encode(Directive(action: .launch, slot: "a/0")), as: UTF8.self)
        #expect(directive == #"{"action":"launch","slot":"a/0"}"#)
        #expect(throws: DecodingError.self) {
            try WireCoding.decoder.decode(Directive.self, from: Data(#"{"action":"explode","slot":"a/0"}"#.utf8))
        }
    }

    @Test func timesKeepMilliseconds() throws {
        let time = Date(timeIntervalSince1970: 1_700_000_000.123)
        let event = EventRecord(id: 1, run: "r", time: time, kind: "Applied", message: "m")
        let back = try WireCoding.decoder.decode(EventRecord.self, from: try WireCoding.encoder.encode(event))
        #expect(abs(back.time.timeIntervalSince(time)) < 0.001)
    }

    @Test func paths() {
        #expect(Endpoint.site("run-a", "alpha", .heartbeats) == "/v1/runs/run-a/sites/alpha/heartbeats")
        #expect(Endpoint.events("r", after: 5, limit: 10, follow: true) == "/v1/runs/r/events?after=5&limit=10&follow=true")
        #expect(Endpoint.rollout("r", .promote) == "/v1/runs/r/rollout/promote")
    }
}
