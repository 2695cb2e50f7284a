/// The port blocks (`NetworkSpec.portsPerReplica` ports each, counted from the run's base port) the planner gives
/// replicas: on a known host, the host's next free block; for a replica whose node is known only once it runs (a Slurm
/// job, which may land on a host of any other site), a block no replica on any host has.
///
/// Every block is below the number of replicas planned so far, so the run's port range is what it was.
struct PortBlocks {
    private var next: [String: Int] = [:]
    private var anywhere: Set<Int> = []

    /// The next block on `host`, skipping blocks taken by replicas that may run anywhere.
    mutating func take(host: String) -> Int {
        var block = next[host, default: 0]
        while anywhere.contains(block) { block += 1 }
        next[host] = block + 1
        return block
    }

    /// A block above every block taken so far on any host.
    mutating func takeAnywhere() -> Int {
        let block = max(next.values.max() ?? 0, (anywhere.max() ?? -1) + 1)
        anywhere.insert(block)
        return block
    }
}
