import IntermeshSpec

extension Plan {
    /// The plan as one site's agent may read it: its own site whole; of the other sites only what its replicas must
    /// reach and size against (slots, hosts, ranks, ports, shards, replica counts). Their environment, launch commands,
    /// rendered files and launcher settings (users, keys, partitions, accounts, extra arguments) are left out. The
    /// content hash stays the revision's: it names the revision, not this view of it.
    public func scoped(to siteName: String) -> Plan {
        var plan = self
        for index in plan.sites.indices where plan.sites[index].name != siteName {
            plan.sites[index].env = [:]
            plan.sites[index].secretEnv = []
            plan.sites[index].files = []
            for replica in plan.sites[index].replicas.indices {
                plan.sites[index].replicas[replica].env = [:]
                plan.sites[index].replicas[replica].command = []
                plan.sites[index].replicas[replica].launchSignature = ""
            }
        }
        for index in plan.run.spec.sites.indices where plan.run.spec.sites[index].name != siteName {
            plan.run.spec.sites[index].env = [:]
            var launcher = plan.run.spec.sites[index].launcher
            launcher.hosts = []
            launcher.slotsPerHost = nil
            launcher.user = nil
            launcher.port = nil
            launcher.identityFile = nil
            launcher.partition = nil
            launcher.account = nil
            launcher.timeLimit = nil
            launcher.extraArgs = []
            plan.run.spec.sites[index].launcher = launcher
        }
        return plan
    }
}
