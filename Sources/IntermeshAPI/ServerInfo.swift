import Foundation

/// `GET /v1/server`: which server answered and which one is active (several servers may share a PostgreSQL store).
public struct ServerInfo: Codable, Sendable, Equatable {
    public enum Role: String, Codable, Sendable {
        /// The only server of its store (SQLite).
        case single
        /// Holds the shared store's lease: it decides and writes.
        case active
        /// Waits for the lease; answers this and points everything else to the active server.
        case standby
    }

    public var role: Role
    /// Where this server is reached, as it advertises itself.
    public var address: String?
    /// Where the active server is reached; nil while no server holds the lease.
    public var active: String?
    /// The lease's epoch, raised by every takeover.
    public var epoch: Int?
    /// Seconds the active server's lease runs before it must be renewed, as the store says.
    public var leaseRemaining: Double?

    public init(role: Role, address: String? = nil, active: String? = nil, epoch: Int? = nil, leaseRemaining: Double? = nil) {
        self.role = role
        self.address = address
        self.active = active
        self.epoch = epoch
        self.leaseRemaining = leaseRemaining
    }
}
