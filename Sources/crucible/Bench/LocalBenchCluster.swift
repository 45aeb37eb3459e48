import CrucibleBench
import Foundation

/// The embedded default: a local cluster `crucible bench` starts in a scratch directory, benchmarks, and tears
/// down (directory included) when the invocation ends.
/// Node processes to SIGKILL when the benchmark is interrupted (read by a signal handler, so a fixed global array).
nonisolated(unsafe) private var interruptPids = [Int32](repeating: 0, count: 9)

final class LocalBenchCluster: BenchCluster {
    private var layout: ClusterLayout
    private let dir: String

    init(nodes: Int, overrides: [String]) throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        dir = scratch
        let basePort = try Self.freeBasePort(nodes: nodes)
        do {
            layout = try ClusterLayout.up(dir: scratch, nodes: nodes, basePort: basePort, overrides: overrides, timeout: 60)
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

    func kill(node: Int32) throws {
        let target = try layout.node(node)
        NodeProcess.signal(target.pid, SIGKILL)
        _ = NodeProcess.waitForExit(target.pid, timeout: 10)
    }

    func start(node: Int32) throws {
        guard let index = layout.nodes.firstIndex(where: { $0.id == node }) else { return }
        guard !NodeProcess.isAlive(layout.nodes[index].pid) else { return }
        layout.nodes[index].pid = try NodeProcess.start(layout.nodes[index])
        Self.stopOnSignal(layout)
    }

    /// An interrupted benchmark (Ctrl-C, SIGTERM) must not leave its cluster running: the handler, which can
    /// capture nothing, SIGKILLs the node processes recorded here and exits as the signal would have.
    private static func stopOnSignal(_ layout: ClusterLayout) {
        for (index, node) in layout.nodes.prefix(interruptPids.count).enumerated() { interruptPids[index] = node.pid ?? 0 }
        let handler: @convention(c) (Int32) -> Void = { signal in
            for pid in interruptPids where pid > 0 { Glibc.kill(pid, SIGKILL) }
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

    /// A base port P with P..P+n-1 and P+100..P+100+n-1 all free.
    private static func freeBasePort(nodes: Int) throws -> Int {
        for _ in 0..<50 {
            let base = Int.random(in: 20_000...40_000)
            let ports = (0..<nodes).flatMap { [base + $0, base + 100 + $0] }
            if ports.allSatisfy({ NodeProcess.isFree(port: $0) }) { return base }
        }
        throw ClusterFailure("no free ports for a local cluster")
    }
}
