import Foundation
import IntermeshAPI

/// The request bodies the API decodes, read as the server reads them (`WireCoding.decoder`): never a crash, and a
/// body that decodes encodes and decodes again to the same JSON, so what the server stores and answers is what it read.
enum APIBodyProperties {
    /// The endpoints' body types; the input's first byte picks one.
    static let bodies: [(name: String, check: @Sendable (Data) -> String?)] = [
        ("ApplyBody", roundTrip(ApplyBody.self)),
        ("HeartbeatBody", heartbeat),
        ("QuorumRequest", roundTrip(QuorumRequest.self)),
        ("AgentReport", roundTrip(AgentReport.self)),
        ("TokenRequest", roundTrip(TokenRequest.self)),
        ("UndoBody", roundTrip(UndoBody.self)),
    ]

    static func check(_ data: Data) -> String? {
        guard let selector = data.first else { return nil }
        let body = bodies[Int(selector) % bodies.count]
        return body.check(data.dropFirst()).map { "\(body.name): \($0)" }
    }

    static func roundTrip<T: Codable>(_ type: T.Type) -> @Sendable (Data) -> String? {
        { data in
            guard let value = try? WireCoding.decoder.decode(T.self, from: Data(data)) else { return nil }
            return reencodes(value)
        }
    }

    /// Heartbeats also go through the per-member checks the server applies before recording anything.
    @Sendable static func heartbeat(_ data: Data) -> String? {
        guard let body = try? WireCoding.decoder.decode(HeartbeatBody.self, from: Data(data)) else { return nil }
        for beat in body.members {
            _ = MemberBeat.isValid(id: beat.id)
            _ = beat.rangeError
        }
        return reencodes(body)
    }

    static func reencodes<T: Codable>(_ value: T) -> String? {
        guard let first = try? WireCoding.encoder.encode(value) else { return "a decoded body does not encode" }
        guard let decoded = try? WireCoding.decoder.decode(T.self, from: first) else { return "an encoded body does not decode: \(String(decoding: first, as: UTF8.self))" }
        guard let second = try? WireCoding.encoder.encode(decoded), second == first else {
            return "a body changes when encoded again: \(String(decoding: first, as: UTF8.self))"
        }
        return nil
    }
}
