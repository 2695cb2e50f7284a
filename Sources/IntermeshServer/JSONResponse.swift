import Foundation
import Hummingbird
import IntermeshAPI

/// JSON bodies in and out, with ISO 8601 dates and sorted keys (stable for scripts and tests).
enum JSONBody {
    static var encoder: JSONEncoder { WireCoding.encoder }
    static var decoder: JSONDecoder { WireCoding.decoder }

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Reads and decodes a request body; malformed JSON is a 400 that says where.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: ServerContext) async throws -> T {
        var request = request
        let buffer = try await request.collectBody(upTo: context.maxUploadSize)
        let data = Data(buffer: buffer)
        guard !data.isEmpty else { throw APIError.badRequest("request body is empty; expected JSON") }
        do {
            return try decoder.decode(type, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            throw APIError.badRequest("request body is not valid JSON" + (underlying.map { ": \($0)" } ?? ""))
        } catch let DecodingError.keyNotFound(key, context) {
            throw APIError.badRequest("request body is missing '\(path(context.codingPath + [key]))'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw APIError.badRequest("request body has the wrong type at '\(path(context.codingPath))': \(context.debugDescription)")
        } catch let DecodingError.valueNotFound(_, context) {
            throw APIError.badRequest("request body has null at '\(path(context.codingPath))'")
        } catch {
            throw APIError.badRequest("request body cannot be read: \(error)")
        }
    }

    static func path(_ keys: [CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}

extension Data {
    init(buffer: ByteBuffer) {
        self = buffer.getData(at: buffer.readerIndex, length: buffer.readableBytes) ?? Data()
    }
}
