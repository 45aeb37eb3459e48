import CrucibleBroker
import CrucibleController
import CrucibleWorkload
import Foundation

extension ClusterLayout {
    /// Formats and starts `nodes` combined nodes under `dir`, records the layout in `dir/cluster.json`, and waits
    /// until every node serves metadata naming all of them.
    static func up(dir: String, nodes: Int, basePort: Int, overrides: [String], nodeOverrides: [Int32: [String]] = [:],
                   networkNamespaces: Bool = false, fakeClocks: Bool = false, faultyDisks: Bool = false,
                   security: ClusterSecurityMode = .plaintext, timeout: Double, log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) throws -> ClusterLayout {
        if FileManager.default.fileExists(atPath: path(dir)) {
            let existing = try load(dir)
            if existing.nodes.contains(where: { NodeProcess.isAlive($0.pid) }) {
                throw UsageError("a cluster is already running in \(dir) (`crucible cluster down --dir \(dir)` first)")
            }
        }
        let root = URL(fileURLWithPath: dir).standardizedFileURL.path
        var layout = ClusterLayout(clusterId: ClusterId.random(), nodes: (1...nodes).map { i in
            Node(id: Int32(i), port: basePort + i - 1, controllerPort: basePort + 100 + i - 1, directory: "\(root)/node-\(i)", pid: nil,
                 metricsPort: basePort + 200 + i - 1)
        })
        // A cluster that fails to come up is stopped, its network removed (its directory and logs stay).
        var started = false
        defer { if !started { layout.down(grace: 5) } }
        if networkNamespaces {
            let lab = try NetworkLab.create(nodes: layout.nodes.map(\.id))
            layout.network = lab
            for index in layout.nodes.indices {
                layout.nodes[index].host = lab.host(layout.nodes[index].id)
                layout.nodes[index].namespace = lab.namespace(layout.nodes[index].id)
            }
        }
        layout.security = try ClusterSecurity.prepare(mode: security, dir: root, nodes: layout.nodes)
        let credentials = try layout.security?.bootstrapCredentials() ?? []
        for node in layout.nodes {
            try FileManager.default.createDirectory(atPath: node.directory, withIntermediateDirectories: true)
            let path = node.directory + "/server.properties"
            try layout.properties(for: node, overrides: overrides + nodeOverrides[node.id, default: []])
                .write(toFile: path, atomically: true, encoding: .utf8)
            let config = try loadBrokerConfig(path: path, overrides: [])
            try Broker.format(config, clusterId: layout.clusterId)
            if !credentials.isEmpty { try MetadataBootstrap.write(credentials, to: config.metadataDirectory) }
        }
        if fakeClocks {
            for index in layout.nodes.indices {
                let file = FakeClock.file(in: layout.nodes[index].directory)
                try FakeClock.set(offsetSeconds: 0, file: file)
                layout.nodes[index].clockFile = file
            }
        }
        if faultyDisks {
            for index in layout.nodes.indices {
                let file = DiskFaults.controlFile(in: layout.nodes[index].directory)
                try DiskFaults.set(nil, directory: layout.nodes[index].dataDirectory, file: file)
                layout.nodes[index].diskFaultFile = file
            }
        }
        for index in layout.nodes.indices {
            layout.nodes[index].pid = try NodeProcess.start(layout.nodes[index])
            log("started node \(layout.nodes[index].id) (pid \(layout.nodes[index].pid!))")
        }
        try layout.save(dir)
        let clientSecurity = try layout.clientSecurity()
        for node in layout.nodes where !NodeProcess.waitUntilServing(address: node.clientAddress, brokers: nodes, timeout: timeout,
                                                                     security: clientSecurity) {
            throw ClusterFailure("node \(node.id) did not serve metadata with \(nodes) brokers within \(Int(timeout)) s (see \(node.directory)/broker.log)")
        }
        started = true
        return layout
    }

    /// Stops every node: SIGTERM, then SIGKILL after `grace` seconds.
    mutating func down(grace: Double = 30) {
        for node in nodes { NodeProcess.signal(node.pid, SIGTERM) }
        for node in nodes where !NodeProcess.waitForExit(node.pid, timeout: grace) {
            NodeProcess.signal(node.pid, SIGKILL)
            _ = NodeProcess.waitForExit(node.pid, timeout: 10)
        }
        for index in nodes.indices { nodes[index].pid = nil }
        network?.destroy()
    }
}
