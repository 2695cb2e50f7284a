/// Reads one YAML mapping through its `ObjectSchema`, reporting every problem and returning defaults.
///
/// A reader never throws: a wrong value is reported and replaced by the field's default (or a neutral
/// value), so decoding goes on and every problem of a file is found in one pass.
public struct ObjectReader {
    public let schema: ObjectSchema
    public let path: String
    public let location: SourceLocation
    public let context: DecodeContext
    private let values: [String: YAMLNode]

    /// Checks that `node` is a mapping with known, unique, scalar keys.
    init(node: YAMLNode, schema: ObjectSchema, path: String, context: DecodeContext) {
        self.schema = schema
        self.path = path
        self.location = node.location
        self.context = context
        var values: [String: YAMLNode] = [:]
        guard case let .mapping(pairs) = node.value else {
            if !node.isNull {
                context.error("\(Self.describe(path)) must be a mapping (\(schema.name)), got \(node.kindDescription)",
                              at: node.location, path: path)
            }
            self.values = [:]
            return
        }
        for (key, value) in pairs {
            guard case let .scalar(name, _, _) = key.value else {
                context.error("keys of \(schema.name) must be plain names, got \(key.kindDescription)", at: key.location, path: path)
                continue
            }
            guard schema.field(name) != nil else {
                var message = "unknown key '\(name.debugEscaped)' in \(schema.name)"
                if let suggestion = DidYouMean.suggestion(for: name, among: schema.fieldNames) {
                    message += "; did you mean '\(suggestion)'?"
                } else {
                    message += " (allowed: \(schema.fieldNames.joined(separator: ", ")))"
                }
                context.error(message, at: key.location, path: path)
                continue
            }
            if values[name] != nil {
                context.error("duplicate key '\(name)' in \(schema.name)", at: key.location, path: Self.join(path, name))
                continue
            }
            values[name] = value
            context.record(Self.join(path, name), value.location)
        }
        self.values = values
    }

    /// A reader for an absent object: every field takes its default.
    static func empty(schema: ObjectSchema, path: String, at location: SourceLocation, context: DecodeContext) -> ObjectReader {
        ObjectReader(node: YAMLNode(.mapping([]), at: location), schema: schema, path: path, context: context)
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    static func describe(_ path: String) -> String {
        path.isEmpty ? "the document" : "'\(path)'"
    }

    /// Whether `key` has a value; null and empty collections count as absent.
    public func has(_ key: String) -> Bool {
        guard let node = values[key], !node.isNull else { return false }
        switch node.value {
        case let .sequence(items): return !items.isEmpty
        case let .mapping(pairs): return !pairs.isEmpty
        case .scalar: return true
        }
    }

    public func fieldPath(_ key: String) -> String { Self.join(path, key) }

    /// The value node of `key`, or nil (reporting a missing required field) when absent or null.
    func node(_ key: String) -> YAMLNode? {
        guard let field = schema.field(key) else {
            preconditionFailure("\(schema.name) reads undeclared field \(key)")
        }
        if let node = values[key], !node.isNull { return node }
        if field.required {
            let message = values[key] == nil
                ? "missing required key '\(key)' in \(schema.name)" : "'\(key)' in \(schema.name) must have a value"
            context.error(message, at: values[key]?.location ?? location, path: fieldPath(key))
        }
        return nil
    }

    func typeError(_ key: String, expected: String, got node: YAMLNode) {
        context.error("'\(key)' must be \(expected), got \(node.kindDescription)", at: node.location, path: fieldPath(key))
    }

    func fail(_ key: String, _ problem: String, at node: YAMLNode) {
        context.error("'\(key)' \(problem)", at: node.location, path: fieldPath(key))
    }
}

// MARK: - Scalars

extension ObjectReader {
    public func string(_ key: String) -> String? {
        let field = schema.field(key)
        guard let node = node(key) else { return field?.defaultValue.flatMap(Self.stringDefault) }
        guard case let .scalar(text, _, _) = node.value else {
            typeError(key, expected: "a string", got: node)
            return field?.defaultValue.flatMap(Self.stringDefault)
        }
        switch field?.type {
        case let .string(format):
            if let problem = format.problem(with: text) {
                fail(key, problem, at: node)
            }
        case let .enumeration(allowed):
            guard allowed.contains(text) else {
                var message = "must be one of \(allowed.map { "'\($0)'" }.joined(separator: ", ")), got '\(text.debugEscaped)'"
                if let guess = DidYouMean.suggestion(for: text, among: allowed) { message += "; did you mean '\(guess)'?" }
                fail(key, message, at: node)
                return field?.defaultValue.flatMap(Self.stringDefault)
            }
        default:
            break
        }
        return text
    }

    public func enumeration<E: RawRepresentable>(_ key: String, as type: E.Type = E.self) -> E? where E.RawValue == String {
        string(key).flatMap(E.init(rawValue:))
    }

    public func int(_ key: String) -> Int? {
        let field = schema.field(key)
        var fallback: Int?
        if case let .int(value)? = field?.defaultValue { fallback = value }
        guard let node = node(key) else { return fallback }
        guard case let .scalar(text, style, _) = node.value, style == .plain,
              let value = Int(text.filter { $0 != "_" }) else {
            if case let .scalar(text, .plain, _) = node.value, Double(text) != nil {
                fail(key, "must be a whole number, got \(text)", at: node)
            } else {
                typeError(key, expected: "an integer", got: node)
            }
            return fallback
        }
        if case let .integer(min, max)? = field?.type, value < min || value > max {
            fail(key, Self.rangeText(min: Double(min), max: Double(max), got: text, maxLimit: Double(Int.max)), at: node)
            return fallback
        }
        return value
    }

    public func double(_ key: String) -> Double? {
        let field = schema.field(key)
        var fallback: Double?
        if case let .number(value)? = field?.defaultValue { fallback = value }
        guard let node = node(key) else { return fallback }
        guard case let .scalar(text, style, _) = node.value, style == .plain,
              let value = Double(text.filter { $0 != "_" }), value.isFinite else {
            typeError(key, expected: "a number", got: node)
            return fallback
        }
        if case let .number(min, max, exclusive)? = field?.type {
            let below = exclusive ? value <= min : value < min
            if below || value > max {
                let low = exclusive ? "greater than \(formatCompact(min))" : "at least \(formatCompact(min))"
                let message = max == .infinity ? "must be \(low), got \(text)"
                    : "must be \(low) and at most \(formatCompact(max)), got \(text)"
                fail(key, message, at: node)
                return fallback
            }
        }
        return value
    }

    public func bool(_ key: String) -> Bool? {
        var fallback: Bool?
        if case let .bool(value)? = schema.field(key)?.defaultValue { fallback = value }
        guard let node = node(key) else { return fallback }
        guard case let .scalar(text, .plain, _) = node.value, ["true", "false"].contains(text.lowercased()) else {
            typeError(key, expected: "true or false", got: node)
            return fallback
        }
        return text.lowercased() == "true"
    }

    public func duration(_ key: String) -> DurationValue? {
        parsed(key, expected: "a duration such as 30s, 500ms or 5m", parse: DurationValue.init(parsing:))
    }

    public func bandwidth(_ key: String) -> Bandwidth? {
        parsed(key, expected: "a bandwidth such as 500Mbps or 4Gbps", parse: Bandwidth.init(parsing:))
    }

    public func quantity(_ key: String) -> Quantity? {
        parsed(key, expected: "a count such as 1000, 250M or 1T", parse: Quantity.init(parsing:))
    }

    private func parsed<T>(_ key: String, expected: String, parse: (String) -> T?) -> T? {
        let fallback: T? = schema.field(key)?.defaultValue.flatMap(Self.stringDefault).flatMap(parse)
        guard let node = node(key) else { return fallback }
        guard case let .scalar(text, _, _) = node.value else {
            typeError(key, expected: expected, got: node)
            return fallback
        }
        guard let value = parse(text) else {
            var message = "must be \(expected), got '\(text.debugEscaped)'"
            if Double(text) != nil, T.self != Quantity.self { message += " (a unit is required)" }
            fail(key, message, at: node)
            return fallback
        }
        return value
    }

    static func stringDefault(_ value: DefaultValue) -> String? {
        if case let .string(text) = value { return text }
        return nil
    }

    static func rangeText(min: Double, max: Double, got: String, maxLimit: Double) -> String {
        max >= maxLimit ? "must be at least \(formatCompact(min)), got \(got)"
            : "must be between \(formatCompact(min)) and \(formatCompact(max)), got \(got)"
    }
}

// MARK: - Collections

extension ObjectReader {
    /// A nested object; absent optional objects decode from defaults.
    public func object<T: SpecObject>(_ key: String, as type: T.Type = T.self) -> T {
        guard let node = node(key) else {
            return T(from: .empty(schema: T.schema, path: fieldPath(key), at: location, context: context))
        }
        return T(from: ObjectReader(node: node, schema: T.schema, path: fieldPath(key), context: context))
    }

    /// A nested object that stays nil when absent.
    public func optionalObject<T: SpecObject>(_ key: String, as type: T.Type = T.self) -> T? {
        guard has(key) else { _ = node(key); return nil }
        return object(key, as: type)
    }

    public func list<T: SpecObject>(_ key: String, of type: T.Type = T.self) -> [T] {
        items(key).map { index, item in
            T(from: ObjectReader(node: item, schema: T.schema, path: "\(fieldPath(key))[\(index)]", context: context))
        }
    }

    /// A list of strings, each checked against the field's format.
    public func stringList(_ key: String) -> [String] {
        guard case let .list(.string(format), _)? = schema.field(key)?.type else {
            preconditionFailure("\(key) is not declared as a list of strings")
        }
        return items(key).compactMap { index, item in
            let path = "\(fieldPath(key))[\(index)]"
            guard case let .scalar(text, _, _) = item.value, !item.isNull else {
                context.error("items of '\(key)' must be strings, got \(item.kindDescription)", at: item.location, path: path)
                return nil
            }
            if let problem = format.problem(with: text) {
                context.error("'\(key)[\(index)]' \(problem)", at: item.location, path: path)
                return nil
            }
            return text
        }
    }

    private func items(_ key: String) -> [(Int, YAMLNode)] {
        guard let node = node(key) else { return [] }
        guard case let .sequence(items) = node.value else {
            typeError(key, expected: "a list", got: node)
            return []
        }
        if case let .list(_, minItems)? = schema.field(key)?.type, items.count < minItems {
            fail(key, "must have at least \(minItems) item\(minItems == 1 ? "" : "s")", at: node)
        }
        for (index, item) in items.enumerated() {
            context.record("\(fieldPath(key))[\(index)]", item.location)
        }
        return Array(items.enumerated())
    }

    /// A mapping of names to scalar values (environment, labels, engine config), in file order.
    public func stringMap(_ key: String) -> [String: String] {
        guard case let .map(keyFormat, valueType)? = schema.field(key)?.type else {
            preconditionFailure("\(key) is not declared as a map")
        }
        guard let node = node(key) else { return [:] }
        guard case let .mapping(pairs) = node.value else {
            typeError(key, expected: "a mapping of names to values", got: node)
            return [:]
        }
        var out: [String: String] = [:]
        for (name, value) in pairs {
            guard case let .scalar(text, _, _) = name.value else {
                context.error("keys of '\(key)' must be names, got \(name.kindDescription)", at: name.location, path: fieldPath(key))
                continue
            }
            let path = "\(fieldPath(key)).\(text)"
            if let problem = keyFormat.problem(with: text) {
                context.error("key '\(text.debugEscaped)' of '\(key)' \(problem)", at: name.location, path: path)
                continue
            }
            if out[text] != nil {
                context.error("duplicate key '\(text)' in '\(key)'", at: name.location, path: path)
                continue
            }
            guard case let .scalar(valueText, _, _) = value.value, !value.isNull else {
                context.error("value of '\(key).\(text)' must be a string, number or boolean, got \(value.kindDescription)",
                              at: value.location, path: path)
                continue
            }
            if case let .string(format) = valueType, let problem = format.problem(with: valueText) {
                context.error("value of '\(key).\(text)' \(problem)", at: value.location, path: path)
                continue
            }
            context.record(path, value.location)
            out[text] = valueText
        }
        return out
    }
}
