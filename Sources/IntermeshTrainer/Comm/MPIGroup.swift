import CBLAS
import CMPI
import Foundation

/// The data-parallel ranks of one replica. Under mpirun it is MPI_COMM_WORLD; a plain process is a group of one.
public final class MPIGroup: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    let active: Bool

    /// Initializes MPI only when started by mpirun (Open MPI sets OMPI_COMM_WORLD_SIZE).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        // One BLAS thread per rank: ranks already fill the cores, and results stay reproducible.
        openblas_set_num_threads(1)
        guard environment["OMPI_COMM_WORLD_SIZE"] != nil else {
            rank = 0
            size = 1
            active = false
            return
        }
        MPI_Init(nil, nil)
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(intermesh_comm_world(), &rank)
        MPI_Comm_size(intermesh_comm_world(), &size)
        self.rank = Int(rank)
        self.size = Int(size)
        active = true
    }

    public var isLeader: Bool { rank == 0 }

    /// Sums `values` over all ranks, in place.
    public func sum(_ values: inout [Float]) {
        guard active, size > 1 else { return }
        values.withUnsafeMutableBufferPointer { buffer in
            _ = MPI_Allreduce(intermesh_in_place(), buffer.baseAddress, Int32(buffer.count), intermesh_float(), intermesh_sum(), intermesh_comm_world())
        }
    }

    /// Rank 0's `values` on every rank.
    public func broadcast(_ values: inout [Float]) {
        guard active, size > 1 else { return }
        values.withUnsafeMutableBufferPointer { buffer in
            _ = MPI_Bcast(buffer.baseAddress, Int32(buffer.count), intermesh_float(), 0, intermesh_comm_world())
        }
    }

    public func broadcast(_ values: inout [Int64]) {
        guard active, size > 1 else { return }
        values.withUnsafeMutableBufferPointer { buffer in
            _ = MPI_Bcast(buffer.baseAddress, Int32(buffer.count), intermesh_int64(), 0, intermesh_comm_world())
        }
    }

    /// Ends every rank of the job at once: a rank that fails alone would leave the others waiting in a
    /// collective forever (and MPI_Finalize with them).
    public func abort(_ code: Int32) -> Never {
        if active && size > 1 { MPI_Abort(intermesh_comm_world(), code) }
        exit(code)
    }

    public func finish() {
        if active { MPI_Finalize() }
    }
}
