import Foundation

/// Finds the names a Mustache template uses that its context does not provide.
///
/// swift-mustache renders a missing name as an empty string, which in a launch script silently
/// drops an argument; this walks the template's tags with the context stack Mustache would use.
struct StrictCheck {
    let sources: [String: String]

    func missing(in name: String, context: [String: Any]) -> [String] {
        var found: [String] = []
        var visiting: Set<String> = []
        check(name, stack: [context], found: &found, visiting: &visiting)
        var seen: Set<String> = []
        return found.filter { seen.insert($0).inserted }
    }

    private func check(_ name: String, stack: [Any], found: inout [String], visiting: inout Set<String>) {
        guard let text = sources[name], visiting.insert(name).inserted else { return }
        defer { visiting.remove(name) }
        let tags = Self.tags(in: text)
        walk(tags[...], stack: stack, found: &found, visiting: &visiting)
    }

    private func walk(_ tags: ArraySlice<Tag>, stack: [Any], found: inout [String], visiting: inout Set<String>) {
        var index = tags.startIndex
        while index < tags.endIndex {
            let tag = tags[index]
            switch tag.kind {
            case .variable:
                if resolve(tag.name, in: stack) == nil { found.append(tag.name) }
            case .partial:
                if sources[tag.name] == nil { found.append("> \(tag.name)") } else {
                    check(tag.name, stack: stack, found: &found, visiting: &visiting)
                }
            case .section, .inverted:
                let end = closing(tags, from: index)
                let body = tags[(index + 1)..<end]
                switch resolve(tag.name, in: stack) {
                case nil:
                    found.append(tag.name)
                case let items as [Any] where tag.kind == .section:
                    for item in items { walk(body, stack: stack + [item], found: &found, visiting: &visiting) }
                case let value? where tag.kind == .section:
                    walk(body, stack: value is Bool ? stack : stack + [value], found: &found, visiting: &visiting)
                default:
                    walk(body, stack: stack, found: &found, visiting: &visiting)
                }
                index = end
            case .close:
                break
            }
            index += 1
        }
    }

    private func closing(_ tags: ArraySlice<Tag>, from start: Int) -> Int {
        var depth = 0
        for index in start..<tags.endIndex {
            switch tags[index].kind {
            case .section, .inverted: depth += 1
            case .close:
                depth -= 1
                if depth == 0 { return index }
            default: break
            }
        }
        return tags.endIndex
    }

    private func resolve(_ name: String, in stack: [Any]) -> Any? {
        if name == "." { return stack.last }
        let parts = name.split(separator: ".").map(String.init)
        guard let head = parts.first else { return nil }
        for frame in stack.reversed() {
            guard let dict = frame as? [String: Any], var value = dict[head] else { continue }
            for part in parts.dropFirst() {
                guard let next = (value as? [String: Any])?[part] else { return nil }
                value = next
            }
            return value
        }
        return nil
    }

    struct Tag {
        enum Kind { case variable, section, inverted, close, partial }
        var kind: Kind
        var name: String
    }

    static func tags(in text: String) -> [Tag] {
        var tags: [Tag] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            let triple = rest[open.upperBound...].hasPrefix("{")
            let closer = triple ? "}}}" : "}}"
            let bodyStart = triple ? rest.index(after: open.upperBound) : open.upperBound
            guard let close = rest[bodyStart...].range(of: closer) else { break }
            var body = rest[bodyStart..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            rest = rest[close.upperBound...]
            guard let sigil = body.first else { continue }
            if triple {
                tags.append(Tag(kind: .variable, name: body))
                continue
            }
            let kind: Tag.Kind?
            switch sigil {
            case "#": kind = .section
            case "^": kind = .inverted
            case "/": kind = .close
            case ">": kind = .partial
            case "&": kind = .variable
            case "!", "%", "=", "$", "<": kind = nil
            default: kind = .variable
            }
            guard let kind else { continue }
            if kind != .variable || sigil == "&" { body = String(body.dropFirst()).trimmingCharacters(in: .whitespaces) }
            tags.append(Tag(kind: kind, name: body))
        }
        return tags
    }
}

