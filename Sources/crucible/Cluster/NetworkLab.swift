import CrucibleWorkload
import Foundation

/// Each node on a host of its own, as far as the network goes: a network namespace per node, joined to a bridge
/// in this machine's namespace by a veth pair, with an address on a private /24 that exists only there. Clients
/// (this process) reach every node through the bridge; a partition is nftables rules inside a node's namespace
/// dropping what comes from, or goes to, the nodes on the other side. Needs root (CAP_NET_ADMIN and
/// CAP_SYS_ADMIN), `ip` (iproute2) and `nft` (nftables).
struct NetworkLab: Codable {
    /// Distinguishes this lab's namespaces and links from any other's on the machine.
    var tag: String
    /// The first three octets of the subnet; the bridge is .1, node i is .(10 + i).
    var subnet: String
    var nodes: [Int32]

    var bridge: String { "crb\(tag)" }
    func namespace(_ node: Int32) -> String { "crucible-\(tag)-n\(node)" }
    func vethOutside(_ node: Int32) -> String { "crv\(tag)\(node)" }
    func host(_ node: Int32) -> String { "\(subnet).\(10 + node)" }

    /// Why this machine cannot build a lab, or nil when it can.
    static func unavailableReason() -> String? {
        if geteuid() != 0 { return "network partitions need root (network namespaces and nftables)" }
        for tool in ["/usr/sbin/ip", "/usr/sbin/nft"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "network partitions need \(tool) (Debian's iproute2 and nftables; Scripts/setup.sh installs them)"
        }
        return nil
    }

    /// Creates the bridge, one namespace per node, and the links between them.
    static func create(nodes: [Int32]) throws -> NetworkLab {
        let tag = String(format: "%06x", UInt32.random(in: 0..<0xff_ffff))
        let lab = NetworkLab(tag: tag, subnet: "10.\(Int.random(in: 200...249)).\(Int.random(in: 0...255))", nodes: nodes)
        do {
            try run(["ip", "link", "add", lab.bridge, "type", "bridge"])
            try run(["ip", "addr", "add", "\(lab.subnet).1/24", "dev", lab.bridge])
            try run(["ip", "link", "set", lab.bridge, "up"])
            for node in nodes {
                let namespace = lab.namespace(node)
                try run(["ip", "netns", "add", namespace])
                try run(["ip", "link", "add", lab.vethOutside(node), "type", "veth", "peer", "name", "eth0", "netns", namespace])
                try run(["ip", "link", "set", lab.vethOutside(node), "master", lab.bridge, "up"])
                try run(["ip", "-n", namespace, "addr", "add", "\(lab.host(node))/24", "dev", "eth0"])
                try run(["ip", "-n", namespace, "link", "set", "eth0", "up"])
                try run(["ip", "-n", namespace, "link", "set", "lo", "up"])
            }
        } catch {
            lab.destroy()
            throw error
        }
        return lab
    }

    /// Each node drops, on arrival, what comes from the nodes `cut` names for it: all of it, or at random the
    /// share `cut.percent` gives (nftables' `numgen random`). The bridge and this machine stay reachable: clients
    /// still talk to every node, as Jepsen's control node does. Replaces any earlier cut.
    func apply(_ cut: NetworkCut) throws {
        try heal()
        for (node, far) in cut.drops.sorted(by: { $0.key < $1.key }) where !far.isEmpty {
            let addresses = far.sorted().map(host).joined(separator: ", ")
            let chance = cut.percent < 100 ? "numgen random mod 100 < \(cut.percent) " : ""
            try run(["ip", "netns", "exec", namespace(node), "nft", "-f", "-"], input: """
                table inet crucible {
                  chain input { type filter hook input priority 0; ip saddr { \(addresses) } \(chance)drop; }
                }
                """)
        }
    }

    /// Removes every partition rule.
    func heal() throws {
        for node in nodes {
            try? run(["ip", "netns", "exec", namespace(node), "nft", "delete", "table", "inet", "crucible"], quiet: true)
        }
    }

    /// Deletes the namespaces (and with them the veth pairs) and the bridge; what does not exist is skipped.
    func destroy() {
        for node in nodes { try? Self.run(["ip", "netns", "del", namespace(node)], quiet: true) }
        try? Self.run(["ip", "link", "del", bridge], quiet: true)
    }

    /// The shell command that does what `destroy` does, for a signal handler that can only exec.
    var destroyCommand: String {
        (nodes.map { "ip netns del \(namespace($0))" } + ["ip link del \(bridge)"]).joined(separator: " 2>/dev/null; ") + " 2>/dev/null"
    }

    private func run(_ arguments: [String], input: String? = nil, quiet: Bool = false) throws {
        try Self.run(arguments, input: input, quiet: quiet)
    }

    static func run(_ arguments: [String], input: String? = nil, quiet: Bool = false) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/" + arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let feed = Pipe()
        if input != nil { process.standardInput = feed }
        try process.run()
        if let input {
            feed.fileHandleForWriting.write(Data(input.utf8))
            try? feed.fileHandleForWriting.close()
        }
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            if quiet { throw ClusterFailure("") }
            throw ClusterFailure("\(arguments.joined(separator: " ")): \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}
