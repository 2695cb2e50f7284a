import CYaml

/// Composes one YAML document into a `YAMLNode` tree with hard limits, using Yams' libyaml.
///
/// Hostile input fails with a located error in bounded time and memory: aliases are expanded
/// virtually (shared subtrees) and the expanded size is budgeted, so an alias bomb is refused
/// before anything walks it; libyaml itself stops at 1,000 levels of nesting.
public struct YAMLComposer {
    public struct Limits: Sendable {
        /// Most nodes the document may expand to, aliases counted each time they are used.
        public var maxExpandedNodes: Int
        public var maxDepth: Int

        public init(maxExpandedNodes: Int = 1_000_000, maxDepth: Int = 200) {
            self.maxExpandedNodes = maxExpandedNodes
            self.maxDepth = maxDepth
        }
    }

    public struct Failure: Error, Sendable {
        public var message: String
        public var location: SourceLocation?
    }

    public var limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// The document's root, nil for a stream with no document (an empty file or only comments).
    public func compose(_ text: String) throws(Failure) -> YAMLNode? {
        var bytes = Array(text.utf8)
        bytes.append(0)
        var state = State(limits: limits)
        yaml_parser_initialize(&state.parser)
        defer { yaml_parser_delete(&state.parser) }
        return try bytes.withUnsafeBufferPointer { (buffer) throws(Failure) -> YAMLNode? in
            yaml_parser_set_input_string(&state.parser, buffer.baseAddress, buffer.count - 1)
            yaml_parser_set_encoding(&state.parser, YAML_UTF8_ENCODING)
            return try state.composeStream()
        }
    }
}

private struct State {
    var parser = yaml_parser_t()
    var anchors: [String: YAMLNode] = [:]
    var expanded = 0
    let limits: YAMLComposer.Limits

    init(limits: YAMLComposer.Limits) {
        self.limits = limits
    }

    mutating func composeStream() throws(YAMLComposer.Failure) -> YAMLNode? {
        var event = try next()
        guard event.type == YAML_STREAM_START_EVENT else { throw failure("expected the start of a YAML stream", event) }
        event.delete()
        event = try next()
        if event.type == YAML_STREAM_END_EVENT {
            event.delete()
            return nil
        }
        guard event.type == YAML_DOCUMENT_START_EVENT else { throw failure("expected a YAML document", event) }
        event.delete()
        event = try next()
        let root = try composeNode(event, depth: 0)
        event = try next()  // document end
        event.delete()
        event = try next()
        defer { event.delete() }
        if event.type != YAML_STREAM_END_EVENT {
            throw YAMLComposer.Failure(
                message: "found a second YAML document; a spec file holds exactly one TrainingRun",
                location: location(event.start_mark))
        }
        return root
    }

    mutating func composeNode(_ event: Event, depth: Int) throws(YAMLComposer.Failure) -> YAMLNode {
        var event = event
        defer { event.delete() }
        let at = location(event.start_mark)
        if depth > limits.maxDepth {
            throw YAMLComposer.Failure(message: "document nests deeper than \(limits.maxDepth) levels", location: at)
        }
        switch event.type {
        case YAML_ALIAS_EVENT:
            let name = string(event.data.alias.anchor) ?? ""
            guard let target = anchors[name] else {
                throw YAMLComposer.Failure(message: "alias '*\(name)' refers to no anchor defined before it", location: at)
            }
            try count(target.expandedSize, at: at)
            var node = target
            node.location = at
            return node
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            let style: YAMLNode.Style
            switch scalar.style {
            case YAML_SINGLE_QUOTED_SCALAR_STYLE, YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .quoted
            case YAML_LITERAL_SCALAR_STYLE, YAML_FOLDED_SCALAR_STYLE: style = .block
            default: style = .plain
            }
            let tag = scalar.plain_implicit == 0 && scalar.quoted_implicit == 0 ? string(scalar.tag) : nil
            try count(1, at: at)
            let node = YAMLNode(.scalar(text: text, style: style, tag: tag), at: at)
            register(string(scalar.anchor), node)
            return node
        case YAML_SEQUENCE_START_EVENT:
            let anchor = string(event.data.sequence_start.anchor)
            try count(1, at: at)
            var items: [YAMLNode] = []
            var size = 1
            while true {
                let child = try next()
                if child.type == YAML_SEQUENCE_END_EVENT {
                    var end = child
                    end.delete()
                    break
                }
                let node = try composeNode(child, depth: depth + 1)
                size += node.expandedSize
                items.append(node)
            }
            let node = YAMLNode(.sequence(items), at: at, expandedSize: size)
            register(anchor, node)
            return node
        case YAML_MAPPING_START_EVENT:
            let anchor = string(event.data.mapping_start.anchor)
            try count(1, at: at)
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            var merged: [(key: YAMLNode, value: YAMLNode)] = []
            var size = 1
            while true {
                let keyEvent = try next()
                if keyEvent.type == YAML_MAPPING_END_EVENT {
                    var end = keyEvent
                    end.delete()
                    break
                }
                let key = try composeNode(keyEvent, depth: depth + 1)
                let value = try composeNode(try next(), depth: depth + 1)
                size += key.expandedSize + value.expandedSize
                if case let .scalar(text, style, _) = key.value, text == "<<", style == .plain {
                    merged += try mergeSources(value)
                } else {
                    pairs.append((key, value))
                }
            }
            // Merge keys (`<<: *defaults`): explicit keys win, earlier merge sources win over later ones.
            var present = Set(pairs.compactMap { $0.key.scalarText })
            for pair in merged {
                guard let name = pair.key.scalarText, !present.contains(name) else { continue }
                present.insert(name)
                pairs.append(pair)
            }
            let node = YAMLNode(.mapping(pairs), at: at, expandedSize: size)
            register(anchor, node)
            return node
        default:
            throw failure("unexpected YAML event", event)
        }
    }

    func mergeSources(_ value: YAMLNode) throws(YAMLComposer.Failure) -> [(key: YAMLNode, value: YAMLNode)] {
        switch value.value {
        case let .mapping(pairs):
            return pairs
        case let .sequence(items):
            var all: [(key: YAMLNode, value: YAMLNode)] = []
            for item in items {
                guard case let .mapping(pairs) = item.value else {
                    throw YAMLComposer.Failure(message: "a merge key '<<' takes a mapping or a list of mappings", location: item.location)
                }
                all += pairs
            }
            return all
        case .scalar:
            throw YAMLComposer.Failure(message: "a merge key '<<' takes a mapping or a list of mappings", location: value.location)
        }
    }

    mutating func count(_ nodes: Int, at: SourceLocation) throws(YAMLComposer.Failure) {
        expanded += nodes
        if expanded > limits.maxExpandedNodes {
            throw YAMLComposer.Failure(
                message: "document expands to more than \(limits.maxExpandedNodes) nodes through aliases (an alias bomb?)",
                location: at)
        }
    }

    mutating func register(_ anchor: String?, _ node: YAMLNode) {
        if let anchor { anchors[anchor] = node }
    }

    mutating func next() throws(YAMLComposer.Failure) -> Event {
        var event = Event()
        guard yaml_parser_parse(&parser, &event) == 1 else {
            throw parserFailure()
        }
        return event
    }

    func parserFailure() -> YAMLComposer.Failure {
        let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        switch parser.error {
        case YAML_READER_ERROR:
            return YAMLComposer.Failure(message: "invalid input: \(problem)", location: nil)
        case YAML_MEMORY_ERROR:
            return YAMLComposer.Failure(message: "out of memory while parsing YAML", location: nil)
        default:
            var message = problem
            if let context = parser.context.map({ String(cString: $0) }) {
                message = "\(problem) \(context) at line \(parser.context_mark.line + 1)"
            }
            if message.contains("Maximum nesting level") {
                message = "document nests too deeply (more than 1000 levels)"
            }
            return YAMLComposer.Failure(message: "YAML syntax: \(message)", location: location(parser.problem_mark))
        }
    }

    func failure(_ message: String, _ event: Event) -> YAMLComposer.Failure {
        YAMLComposer.Failure(message: message, location: location(event.start_mark))
    }

    func location(_ mark: yaml_mark_t) -> SourceLocation {
        SourceLocation(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    func string(_ pointer: UnsafeMutablePointer<UInt8>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: pointer)
    }
}

private typealias Event = yaml_event_t

private extension yaml_event_t {
    mutating func delete() {
        yaml_event_delete(&self)
    }
}
