import CrucibleBroker
import CrucibleBench
import CrucibleVerifyRun
import CrucibleWorkload
import Foundation

/// The embedded default: a local cluster `crucible bench` or `crucible verify` starts in a scratch directory, runs
/// against (killing, pausing and restarting its nodes for a nemesis), and tears down, directory included.
/// Node processes to SIGKILL when the benchmark is interrupted (read by a signal handler, so a fixed global array).
nonisolated(unsafe) private var interruptPids = [Int32](repeating: 0, count: 9)
/// `sh -c` removing the network namespaces and `rm -rf <scratch>`, as an argv made before any signal can arrive:
/// the handler may only fork and exec.
nonisolated(unsafe) private var interruptRemoval: [UnsafeMutablePointer<CChar>?] = []

final class LocalScratchCluster: BenchCluster, VerifyCluster {
    private var layout: ClusterLayout
    private let dir: String

    init(nodes: Int, overrides: [String], purpose: String = "bench", networkNamespaces: Bool = false,
         fakeClocks: Bool = false, faultyDisks: Bool = false, security: ClusterSecurityMode = .plaintext) throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-\(purpose)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        dir = scratch
        let basePort = try Self.freeBasePort(nodes: nodes)
        do {
            layout = try ClusterLayout.up(dir: scratch, nodes: nodes, basePort: basePort, overrides: overrides,
                                          networkNamespaces: networkNamespaces, fakeClocks: fakeClocks,
                                          faultyDisks: faultyDisks, security: security, timeout: 60)
            let cleanup = (layout.network.map { $0.destroyCommand + "; " } ?? "") + "rm -rf '\(scratch)'"
            interruptRemoval = [strdup("sh"), strdup("-c"), strdup(cleanup), nil]
            Self.stopOnSignal(layout)
        } catch {
            try? FileManager.default.removeItem(atPath: scratch)
            throw error
        }
    }

    var bootstrapServers: String { layout.bootstrapServers }
    var brokerProcesses: [Int32: Int32] {
        Dictionary(uniqueKeysWithValues: layout.nodes.compactMap { node in node.pid.map { (node.id, $0) } })
    }
    var dataDirectory: String? { dir }
    var metricsURLs: [Int32: String] {
        Dictionary(uniqueKeysWithValues: layout.nodes.compactMap { node in node.metricsURL.map { (node.id, $0) } })
    }

    /// DIR/client.properties of a cluster started with TLS or SASL: what its clients connect with.
    var clientProperties: [Driver.Property] {
        guard let path = layout.security?.clientConfig, let data = FileManager.default.contents(atPath: path) else { return [] }
        return Properties(parsing: String(decoding: data, as: UTF8.self)).entries.map { Driver.Property($0.key, $0.value) }
    }
    var brokerCount: Int? { layout.nodes.count }

    func kill(node: Int32) throws {
        let target = try layout.node(node)
        NodeProcess.signal(target.pid, SIGKILL)
        _ = NodeProcess.waitForExit(target.pid, timeout: 10)
    }

    var nodeIds: [Int32] { layout.nodes.map(\.id) }
    func address(of node: Int32) -> String? { (try? layout.node(node))?.clientAddress }

    func pause(node: Int32) throws { NodeProcess.signal(try layout.node(node).pid, SIGSTOP) }
    func resume(node: Int32) throws { NodeProcess.signal(try layout.node(node).pid, SIGCONT) }

    func cut(_ cut: NetworkCut) throws {
        guard let network = layout.network else { throw ClusterFailure("this cluster's nodes share one host: no partitions") }
        try network.apply(cut)
    }

    func healPartitions() throws { try layout.network?.heal() }

    func setClock(node: Int32, offsetSeconds: Int) throws {
        guard let file = try layout.node(node).clockFile else { throw ClusterFailure("this cluster's clocks cannot be moved") }
        try FakeClock.set(offsetSeconds: offsetSeconds, file: file)
    }

    func setDiskFault(node: Int32, _ fault: DiskFault?) throws {
        let target = try layout.node(node)
        guard let file = target.diskFaultFile else { throw ClusterFailure("this cluster's disks cannot be broken") }
        try DiskFaults.set(fault, directory: target.dataDirectory, file: file)
    }

    func isRunning(node: Int32) -> Bool { NodeProcess.isAlive((try? layout.node(node))?.pid) }

    func collectLogs(into directory: String) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for node in layout.nodes {
            try? FileManager.default.copyItem(atPath: node.directory + "/broker.log", toPath: "\(directory)/node-\(node.id).log")
        }
    }

    func start(node: Int32) throws {
        guard let index = layout.nodes.firstIndex(where: { $0.id == node }) else { return }
        guard !NodeProcess.isAlive(layout.nodes[index].pid) else { return }
        layout.nodes[index].pid = try NodeProcess.start(layout.nodes[index])
        Self.stopOnSignal(layout)
    }

    /// An interrupted benchmark (Ctrl-C, SIGTERM) must not leave its cluster running, nor its data behind (a
    /// default-set run holds tens of GB; two interrupted runs filled this machine's disk): the handler, which can
    /// capture nothing and call nothing but async-signal-safe functions, SIGKILLs the node processes recorded
    /// here, forks a shell removing its network namespaces and the scratch directory, and exits as the signal would have.
    private static func stopOnSignal(_ layout: ClusterLayout) {
        for (index, node) in layout.nodes.prefix(interruptPids.count).enumerated() { interruptPids[index] = node.pid ?? 0 }
        let handler: @convention(c) (Int32) -> Void = { signal in
            for pid in interruptPids where pid > 0 { Glibc.kill(pid, SIGKILL) }
            if interruptRemoval.count == 4 && fork() == 0 {
                interruptRemoval.withUnsafeBufferPointer { argv in _ = execv("/bin/sh", argv.baseAddress!) }
                _exit(127)
            }
            _exit(128 + signal)
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    func down() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        layout.down()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A base port P with P..P+n-1, P+100..P+100+n-1 and P+200..P+200+n-1 (metrics) all free.
    private static func freeBasePort(nodes: Int) throws -> Int {
        for _ in 0..<50 {
            let base = Int.random(in: 20_000...40_000)
            let ports = (0..<nodes).flatMap { [base + $0, base + 100 + $0, base + 200 + $0] }
            if ports.allSatisfy({ NodeProcess.isFree(port: $0) }) { return base }
        }
        throw ClusterFailure("no free ports for a local cluster")
    }
}
