import Foundation

/// Builds a JSON Schema (draft 2020-12) of the run spec from the same declarations the loader uses.
public enum JSONSchemaGenerator {
    public static let id = "https://intermesh.dev/schemas/intermesh-v1.json"

    public static func document() -> [String: Any] {
        var definitions: [String: Any] = [:]
        var root = objectSchema(TrainingRun.schema, definitions: &definitions)
        root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        root["$id"] = id
        root["title"] = "Intermesh TrainingRun"
        root["$defs"] = definitions
        return root
    }

    /// The schema as pretty, key-sorted JSON.
    public static func json() -> String {
        let data = (try? JSONSerialization.data(withJSONObject: document(), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func objectSchema(_ object: ObjectSchema, definitions: inout [String: Any]) -> [String: Any] {
        var properties: [String: Any] = [:]
        for field in object.fields {
            var property = typeSchema(field.type, definitions: &definitions)
            property["description"] = field.doc
            if let value = field.defaultValue, let json = jsonDefault(value, type: field.type) {
                property["default"] = json
            }
            properties[field.name] = property
        }
        var out: [String: Any] = [
            "type": "object",
            "description": object.doc,
            "properties": properties,
            "additionalProperties": false,
        ]
        let required = object.fields.filter(\.required).map(\.name)
        if !required.isEmpty { out["required"] = required }
        return out
    }

    static func typeSchema(_ type: FieldType, definitions: inout [String: Any]) -> [String: Any] {
        switch type {
        case let .string(format):
            var out: [String: Any] = ["type": "string"]
            if let pattern = format.jsonPattern { out["pattern"] = pattern }
            if format == .dnsLabel { out["maxLength"] = 63 }
            return out
        case let .integer(min, max):
            return ["type": "integer", "minimum": min, "maximum": max]
        case let .number(min, max, exclusive):
            var out: [String: Any] = ["type": "number", "maximum": max]
            out[exclusive ? "exclusiveMinimum" : "minimum"] = min
            return out
        case .boolean:
            return ["type": "boolean"]
        case .duration:
            return ["type": "string", "pattern": "^\\s*([0-9]+(\\.[0-9]+)?(ms|s|m|h|d))+\\s*$"]
        case .bandwidth:
            return ["type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*([KkMmGgTt]?[bB](ps|PS|/s))\\s*$"]
        case .quantity:
            return ["anyOf": [
                ["type": "integer", "minimum": 0],
                ["type": "string", "pattern": "^[0-9_]+(\\.[0-9]+)?[KkMmBbGgTtPp]?$"],
            ]]
        case let .enumeration(values):
            return ["enum": values]
        case let .object(object):
            let key = object.name.split(separator: " ").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
            if definitions[key] == nil {
                definitions[key] = [:] as [String: Any]
                definitions[key] = objectSchema(object, definitions: &definitions)
            }
            return ["$ref": "#/$defs/\(key)"]
        case let .list(item, minItems):
            var out: [String: Any] = ["type": "array", "items": typeSchema(item, definitions: &definitions)]
            if minItems > 0 { out["minItems"] = minItems }
            return out
        case let .map(keyFormat, value):
            // Scalars of any kind are accepted and read as text (`PORT: 8080`).
            var valueSchema: [String: Any] = ["type": ["string", "number", "boolean"]]
            if case .string = value {} else { valueSchema = typeSchema(value, definitions: &definitions) }
            var out: [String: Any] = ["type": "object", "additionalProperties": valueSchema]
            if let pattern = keyFormat.jsonPattern { out["propertyNames"] = ["pattern": pattern] }
            return out
        }
    }

    static func jsonDefault(_ value: DefaultValue, type: FieldType) -> Any? {
        switch value {
        case let .int(v): return v
        case let .number(v): return v
        case let .bool(v): return v
        case let .string(v): return v
        case .derived: return nil
        }
    }
}
