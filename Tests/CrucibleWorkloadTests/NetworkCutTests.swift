import CrucibleWorkload
import XCTest

/// The shapes the nemesis cuts the network into, checked as Jepsen defines them, over every order of 3 to 7 nodes
/// the seed could draw (up to 5 nodes; a sample of rotations beyond).
final class NetworkCutTests: XCTestCase {
    private func hearing(_ cut: NetworkCut, _ node: Int32, among nodes: [Int32]) -> Set<Int32> {
        Set(nodes.filter { cut.hears(node, $0) })
    }

    private func orders(of count: Int) -> [[Int32]] {
        let nodes = (1...Int32(count)).map { $0 }
        guard count <= 5 else { return (0..<count).map { Array(nodes[$0...] + nodes[..<$0]) } }
        func permutations(_ rest: [Int32]) -> [[Int32]] {
            rest.isEmpty ? [[]] : rest.indices.flatMap { i in
                permutations(Array(rest[..<i] + rest[(i + 1)...])).map { [rest[i]] + $0 }
            }
        }
        return permutations(nodes)
    }

    func testInARingEveryNodeHearsADifferentMajority() {
        for count in 3...7 {
            for order in orders(of: count) {
                let cut = NetworkCut.ring(order)
                let heard = order.map { hearing(cut, $0, among: order) }
                for (node, set) in zip(order, heard) {
                    XCTAssertTrue(set.contains(node))
                    XCTAssertEqual(set.count, count / 2 + 1, "\(order): node \(node) hears \(set)")
                }
                XCTAssertEqual(Set(heard).count, count, "\(order): two nodes hear the same majority")
            }
        }
    }

    func testABridgeJoinsTwoHalvesThatCannotHearEachOther() {
        for count in 3...7 {
            for order in orders(of: count) {
                let cut = NetworkCut.bridge(order)
                let bridge = order[count / 2]
                let left = Array(order[..<(count / 2)]), right = Array(order[(count / 2 + 1)...])
                XCTAssertEqual(hearing(cut, bridge, among: order), Set(order))
                for node in order where node != bridge {
                    XCTAssertTrue(cut.hears(node, bridge) && cut.hears(bridge, node))
                }
                for a in left { for b in right { XCTAssertFalse(cut.hears(a, b) || cut.hears(b, a), "\(order)") } }
                for half in [left, right] { for a in half { for b in half { XCTAssertTrue(cut.hears(a, b)) } } }
            }
        }
    }

    func testIsolatingCutsBothWaysAndOnlyAcrossTheSides() {
        let nodes: [Int32] = [1, 2, 3, 4, 5]
        let cut = NetworkCut.isolating([2, 4], among: nodes)
        for a in nodes {
            for b in nodes {
                XCTAssertEqual(cut.hears(a, b), [2, 4].contains(a) == [2, 4].contains(b), "\(a) hears \(b)")
            }
        }
        // A lossy link names the same pairs but lets some packets through.
        let lossy = NetworkCut.isolating([2, 4], among: nodes, percent: 30)
        XCTAssertEqual(lossy.drops, cut.drops)
        XCTAssertTrue(lossy.hears(1, 2))
        XCTAssertEqual(NetworkCut.everyLink(among: nodes, percent: 10).drops[3], [1, 2, 4, 5])
    }
}
