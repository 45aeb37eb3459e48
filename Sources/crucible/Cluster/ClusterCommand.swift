import ArgumentParser
import CrucibleBroker
import CrucibleWorkload
import Foundation

/// `crucible cluster ...`: a local cluster of combined broker+controller nodes as background processes.
struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Run a local cluster: up, down, status, per-node kill/stop/start/restart/pause/resume, partitions and clocks.",
        subcommands: [Up.self, Down.self, Status.self, NodeAction.Kill.self, NodeAction.Stop.self, NodeAction.Start.self,
                      NodeAction.Restart.self, NodeAction.Pause.self, NodeAction.Resume.self, Partition.self, Heal.self,
                      Clock.self, DiskFaultCommand.self])

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Format and start N nodes, wait until they serve metadata, print the bootstrap servers last.")

        @Option(name: .long, help: "Directory for the nodes' configs, logs and data.") var dir: String
        @Option(name: .long, help: "Number of nodes.") var nodes: Int = 3
        @Option(name: .long, help: "First client port; node i listens on P+i-1, its controller on P+100+i-1.")
        var basePort: Int = 19092
        @Option(name: .long, help: "KEY=VALUE added to every node's server.properties (repeatable).")
        var override: [String] = []
        @Option(name: .long, help: "ID:KEY=VALUE added to node ID's server.properties only, e.g. 2:broker.rack=b (repeatable).")
        var nodeOverride: [String] = []
        @Option(name: .long, help: "Seconds to wait for the cluster to serve.") var timeout: Double = 60
        @Flag(name: .long, help: "Each node on a host of its own (a network namespace on a bridge), so `partition` can cut it off. Needs root.")
        var networkNamespaces = false
        @Flag(name: .long, help: "Start the nodes with wall clocks `clock` can move (libfaketime).")
        var movableClocks = false
        @Flag(name: .long, help: "Start the nodes with disks `disk-fault` can break (the project's preload library).")
        var faultyDisks = false
        @Option(name: .long, help: "plaintext, ssl (TLS everywhere, client certificates required) or sasl_ssl (TLS and SCRAM users); DIR/client.properties holds the client settings.")
        var security: ClusterSecurityMode = .plaintext

        func run() throws {
            guard (1...9).contains(nodes) else { throw UsageError("--nodes \(nodes): must be 1 to 9") }
            if networkNamespaces, let reason = NetworkLab.unavailableReason() { throw UsageError("--network-namespaces: \(reason)") }
            if movableClocks, let reason = FakeClock.unavailableReason() { throw UsageError("--movable-clocks: \(reason)") }
            if faultyDisks, let reason = DiskFaults.unavailableReason() { throw UsageError("--faulty-disks: \(reason)") }
            guard (1024...65_000).contains(basePort) else { throw UsageError("--base-port \(basePort): out of range") }
            for entry in override where !entry.contains("=") { throw UsageError("--override \(entry): expected KEY=VALUE") }
            var perNode: [Int32: [String]] = [:]
            for entry in nodeOverride {
                guard let colon = entry.firstIndex(of: ":"), let id = Int32(entry[..<colon]),
                      entry[entry.index(after: colon)...].contains("=") else {
                    throw UsageError("--node-override \(entry): expected ID:KEY=VALUE")
                }
                guard (1...Int32(nodes)).contains(id) else {
                    throw UsageError("--node-override \(entry): node \(id) is not one of 1...\(nodes)")
                }
                perNode[id, default: []].append(String(entry[entry.index(after: colon)...]))
            }
            let layout = try ClusterLayout.up(dir: dir, nodes: nodes, basePort: basePort, overrides: override,
                                              nodeOverrides: perNode, networkNamespaces: networkNamespaces,
                                              fakeClocks: movableClocks, faultyDisks: faultyDisks, security: security,
                                              timeout: timeout)
            print(layout.bootstrapServers)
        }
    }

    struct Partition: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cut nodes off from the others (both ways; clients still reach every node). Replaces any earlier partition.")
        @Option(name: .long) var dir: String
        @Option(name: .long, help: "A node on the isolated side (repeatable).") var isolate: [Int32] = []
        @Option(name: .long, help: "Drop only this many packets in a hundred, at random: a lossy link instead of a cut (1-99).")
        var loss: Int?

        func run() throws {
            let layout = try ClusterLayout.load(dir)
            guard let network = layout.network else {
                throw UsageError("--dir \(dir): the cluster was not started with --network-namespaces")
            }
            guard !isolate.isEmpty else { throw UsageError("--isolate: name at least one node") }
            for id in isolate { _ = try layout.node(id) }
            if let loss, !(1...99).contains(loss) { throw UsageError("--loss \(loss): must be 1 to 99 (per hundred packets)") }
            try network.apply(.isolating(Set(isolate), among: layout.nodes.map(\.id), percent: loss ?? 100))
        }
    }

    struct Heal: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove every partition.")
        @Option(name: .long) var dir: String

        func run() throws {
            let layout = try ClusterLayout.load(dir)
            guard let network = layout.network else {
                throw UsageError("--dir \(dir): the cluster was not started with --network-namespaces")
            }
            try network.heal()
        }
    }

    struct Clock: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a node's wall clock (its monotonic clock stays true); --seconds 0 puts it back.")
        @Option(name: .long) var dir: String
        @Option(name: .long, help: "The node whose clock moves.") var node: Int32
        @Option(name: .long, parsing: .unconditional, help: "Seconds from true time, negative for back.") var seconds: Int

        func run() throws {
            let layout = try ClusterLayout.load(dir)
            guard let file = try layout.node(node).clockFile else {
                throw UsageError("--dir \(dir): the cluster was not started with --movable-clocks")
            }
            try FakeClock.set(offsetSeconds: seconds, file: file)
        }
    }

    struct DiskFaultCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "disk-fault",
            abstract: "Make a node's writes or fsyncs in its log directory fail from now on; --heal stops that.")
        @Option(name: .long) var dir: String
        @Option(name: .long, help: "The node whose disk breaks.") var node: Int32
        @Option(name: .long, help: "write (write, pwrite, writev, ftruncate) or fsync (fsync, fdatasync).")
        var operation: String = "write"
        @Option(name: .long, help: "EIO or ENOSPC.") var error: String = "EIO"
        @Flag(name: .long, help: "Remove the node's disk fault.") var heal = false

        func run() throws {
            let layout = try ClusterLayout.load(dir)
            let target = try layout.node(node)
            guard let file = target.diskFaultFile else {
                throw UsageError("--dir \(dir): the cluster was not started with --faulty-disks")
            }
            guard let operation = DiskFault.Operation(rawValue: operation) else {
                throw UsageError("--operation \(operation): must be write or fsync")
            }
            guard let failure = DiskFault.Failure(rawValue: error) else { throw UsageError("--error \(error): must be EIO or ENOSPC") }
            try DiskFaults.set(heal ? nil : DiskFault(operation: operation, error: failure), directory: target.dataDirectory, file: file)
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop every node (SIGTERM, then SIGKILL after 30 s).")
        @Option(name: .long) var dir: String

        func run() throws {
            var layout = try ClusterLayout.load(dir)
            layout.down()
            try layout.save(dir)
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Which nodes run, and where.")
        @Option(name: .long) var dir: String
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() throws {
            let layout = try ClusterLayout.load(dir)
            let rows = layout.nodes.map { node in
                (node, NodeProcess.isAlive(node.pid) ? (isStopped(node.pid) ? "paused" : "running") : "down")
            }
            if json {
                let object: [String: Any] = [
                    "clusterId": layout.clusterId, "bootstrapServers": layout.bootstrapServers,
                    "nodes": rows.map { node, state in
                        ["id": node.id, "port": node.port, "controllerPort": node.controllerPort, "state": state,
                         "address": node.clientAddress, "namespace": node.namespace ?? "",
                         "pid": node.pid.map { Int($0) } ?? -1, "directory": node.directory,
                         "metricsUrl": node.metricsURL ?? ""] as [String: Any]
                    },
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("Cluster \(layout.clusterId)")
                for (node, state) in rows {
                    print("node \(node.id)\t\(state)\t\(node.clientAddress)\tcontroller \(node.address):\(node.controllerPort)\tpid \(node.pid.map(String.init) ?? "-")")
                }
            }
            if rows.contains(where: { $0.1 != "running" }) { throw ExitCode(1) }
        }

        private func isStopped(_ pid: Int32?) -> Bool {
            guard let pid, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            return stat[stat.index(close, offsetBy: 2)] == "T"
        }
    }
}

struct ClusterFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// kill = SIGKILL, stop = SIGTERM, start, restart = stop + start, pause/resume = SIGSTOP/SIGCONT.
enum NodeAction {
    struct Target: ParsableArguments {
        @Option(name: .long) var dir: String
        @Option(name: .long, help: "Node id.") var node: Int32
    }

    static func act(_ target: Target, _ body: (inout ClusterLayout, Int) throws -> Void) throws {
        var layout = try ClusterLayout.load(target.dir)
        _ = try layout.node(target.node)
        let index = layout.nodes.firstIndex { $0.id == target.node }!
        try body(&layout, index)
        try layout.save(target.dir)
    }

    struct Kill: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "kill", abstract: "SIGKILL a node.")
        @OptionGroup var target: Target
        func run() throws {
            try act(target) { layout, i in
                NodeProcess.signal(layout.nodes[i].pid, SIGKILL)
                _ = NodeProcess.waitForExit(layout.nodes[i].pid, timeout: 10)
            }
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "stop", abstract: "SIGTERM a node and wait for it.")
        @OptionGroup var target: Target
        func run() throws {
            try act(target) { layout, i in
                NodeProcess.signal(layout.nodes[i].pid, SIGTERM)
                guard NodeProcess.waitForExit(layout.nodes[i].pid, timeout: 30) else {
                    throw ClusterFailure("node \(target.node) did not stop within 30 s")
                }
            }
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a stopped node.")
        @OptionGroup var target: Target
        func run() throws {
            try act(target) { layout, i in
                guard !NodeProcess.isAlive(layout.nodes[i].pid) else { return }
                layout.nodes[i].pid = try NodeProcess.start(layout.nodes[i])
            }
        }
    }

    struct Restart: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "restart", abstract: "Stop (SIGTERM) and start a node.")
        @OptionGroup var target: Target
        func run() throws {
            try act(target) { layout, i in
                NodeProcess.signal(layout.nodes[i].pid, SIGTERM)
                if !NodeProcess.waitForExit(layout.nodes[i].pid, timeout: 30) { NodeProcess.signal(layout.nodes[i].pid, SIGKILL) }
                layout.nodes[i].pid = try NodeProcess.start(layout.nodes[i])
            }
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pause", abstract: "SIGSTOP a node.")
        @OptionGroup var target: Target
        func run() throws { try act(target) { layout, i in NodeProcess.signal(layout.nodes[i].pid, SIGSTOP) } }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "resume", abstract: "SIGCONT a paused node.")
        @OptionGroup var target: Target
        func run() throws { try act(target) { layout, i in NodeProcess.signal(layout.nodes[i].pid, SIGCONT) } }
    }
}
