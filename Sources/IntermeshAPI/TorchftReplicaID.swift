import Foundation

/// How a torchft replica group names itself to the control plane's Lighthouse endpoint: the plan hands each replica
/// `TORCHFT_REPLICA_ID=RUN/SITE/INDEX/MEMBER/GLOBAL`, the script passes it to `torchft.Manager(replica_id=...)`, and
/// torchft appends `:UUID` per process. The Lighthouse reads run, slot and member from it; torchft reads GLOBAL (the
/// trailing digits before the colon) as the group's rank among all replica groups.
public struct TorchftReplicaID: Sendable, Hashable {
    public var run: String
    public var site: String
    public var index: Int
    /// The member id the agent gave this incarnation (`INTERMESH_MEMBER_ID`).
    public var member: String
    public var globalIndex: Int

    public init(run: String, site: String, index: Int, member: String, globalIndex: Int) {
        self.run = run
        self.site = site
        self.index = index
        self.member = member
        self.globalIndex = globalIndex
    }

    public var slot: String { "\(site)/\(index)" }

    /// The id without torchft's `:UUID` suffix.
    public var text: String { "\(run)/\(site)/\(index)/\(member)/\(globalIndex)" }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case malformed(String)

        public var description: String {
            switch self {
            case let .malformed(id):
                "replica id '\(id.prefix(200))' is not RUN/SITE/INDEX/MEMBER/GLOBAL[:UUID] (pass $TORCHFT_REPLICA_ID to torchft.Manager)"
            }
        }
    }

    /// Parses `RUN/SITE/INDEX/MEMBER/GLOBAL`, with or without torchft's `:UUID` suffix.
    public static func parse(_ text: String) throws(ParseError) -> TorchftReplicaID {
        guard text.utf8.count <= 400 else { throw .malformed(text) }
        let base = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let parts = base.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, isLabel(parts[0]), isLabel(parts[1]), let index = Int(parts[2]), index >= 0, index < 1_000_000,
              MemberBeat.isValid(id: parts[3]), let global = Int(parts[4]), global >= 0, global < 10_000_000,
              parts[2] == String(index), parts[4] == String(global)
        else { throw .malformed(text) }
        return TorchftReplicaID(run: parts[0], site: parts[1], index: index, member: parts[3], globalIndex: global)
    }

    /// A DNS label: what run and site names are.
    static func isLabel(_ text: String) -> Bool {
        guard (1...63).contains(text.utf8.count), text.first != "-", text.last != "-" else { return false }
        return text.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
        }
    }
}
