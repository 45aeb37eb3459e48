@testable import CrucibleRaft

/// What one simulated run does: cluster size, how hard the nemesis hits, and for how long.
struct SimulationOptions {
    var voterCount = 3
    /// Nodes that replicate the log without voting (broker-only nodes in KRaft), numbered after the voters.
    var observerCount = 0
    /// Simulated time with faults; after it everything heals and the cluster must make progress.
    var faultPhaseMs: Int64 = 8_000
    /// How long after healing a leader must have committed a new proposal on every node.
    var livenessBoundMs: Int64 = 15_000
    var dropProbability = 0.05
    var duplicateProbability = 0.03
    var networkDelayMsMax: Int64 = 20
    /// Some messages are held much longer, which reorders them behind later ones.
    var slowMessageProbability = 0.03
    var slowMessageDelayMsMax: Int64 = 400
    var flushDelayMsMax: Int64 = 15
    var crashes = true
    /// Chance that a newly elected leader is crashed within a few hundred milliseconds.
    var newLeaderCrashProbability = 0.2
    var partitions = true
    var resignations = true
    var snapshots = true
    /// Time between nemesis decisions.
    var nemesisIntervalMs: Range<Int64> = 200..<1_200
    var proposalIntervalMs: Range<Int64> = 30..<150
    /// Entries per Fetch response; nil picks one per seed. Small batches make followers stop at every offset,
    /// including just before a new leader's first entry.
    var fetchEntriesMax: Int?
    /// Print role changes, crashes and healing as they happen (for studying one seed).
    var trace = false
    /// Bugs to plant in every node (to prove the checker catches them).
    var faults: RaftTestingFaults = []

    func raftConfig(nodeID: RaftNodeID, voters: [RaftNodeID], fetchEntriesMax: Int) -> RaftConfig {
        var config = RaftConfig(nodeID: nodeID, voters: voters)
        // Messages are lost in this network, so retry sooner than Kafka's 2 s request timeout.
        config.requestTimeoutMs = 300
        config.fetchMaxWaitMs = 300
        config.fetchEntriesMax = fetchEntriesMax
        config.snapshotChunkBytesMax = 256
        config.testingFaults = faults
        return config
    }
}
