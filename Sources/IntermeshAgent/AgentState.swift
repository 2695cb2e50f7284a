import Foundation

/// One replica process an agent started (or adopted): enough to find it again after the agent restarts.
public struct ReplicaRecord: Codable, Sendable, Hashable {
    public var slot: String
    public var member: String
    public var incarnation: Int
    /// Leader of the replica's process group (0 for a Slurm job).
    public var pid: Int32
    /// The Slurm job of a replica of a `slurm` site.
    public var jobId: String?
    /// The process's start time in clock ticks after boot: a recycled pid does not match it.
    public var startTime: UInt64
    /// The revision whose plan launched it, and the launch signature of its replica in that plan.
    public var revision: Int
    public var signature: String
    /// Content hash of that revision (what a process-liveness heartbeat reports the member trains with).
    public var contentHash: String?
    public var log: String
    public var launchedAt: Date
    /// Set when the agent asked it to stop (drain), and when it escalated to SIGTERM.
    public var stopRequestedAt: Date?
    public var terminatedAt: Date?
    public var stopReason: String?
}

/// What an agent keeps on disk in its state directory (`agent.json`), written atomically after every change:
/// its replicas, and the last incarnation number of each slot.
public struct AgentState: Codable, Sendable {
    public var replicas: [ReplicaRecord] = []
    public var incarnations: [String: Int] = [:]
    /// The port of the agent's Lighthouse relay (with several servers), taken again after a restart when free.
    public var lighthouseRelayPort: Int?

    public init() {}

    public static func load(from directory: URL) throws -> AgentState {
        let file = directory.appendingPathComponent("agent.json")
        guard let data = FileManager.default.contents(atPath: file.path) else { return AgentState() }
        do {
            return try JSONDecoder.agent.decode(AgentState.self, from: data)
        } catch {
            throw ReplicaProcess.Failure(description: "\(file.path): unreadable agent state: \(error)")
        }
    }

    public func save(to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        try encoder.encode(self).write(to: directory.appendingPathComponent("agent.json"), options: .atomic)
    }
}

extension JSONDecoder {
    static let agent: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()
}
