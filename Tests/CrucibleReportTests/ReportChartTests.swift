@testable import CrucibleReport
import XCTest

final class ReportChartTests: XCTestCase {
    /// HdrHistogram's percentile axis: each further nine takes the same width.
    func testThePercentileAxisGivesEveryNineTheSameWidth() {
        let axis = Axis(scale: .percentile, low: 0, high: 99.9, from: 0, to: 300)
        XCTAssertEqual(axis.position(0), 0, accuracy: 1e-9)
        XCTAssertEqual(axis.position(90), 100, accuracy: 1e-6)
        XCTAssertEqual(axis.position(99), 200, accuracy: 1e-6)
        XCTAssertEqual(axis.position(99.9), 300, accuracy: 1e-6)
        XCTAssertEqual(axis.ticks().map(\.label), ["0%", "90%", "99%", "99.9%"])
    }

    func testALogAxisSpansWholeDecadesAndALinearOneStartsAtRoundTicks() {
        let log = Axis(scale: .log, low: 0.3, high: 42, from: 0, to: 100)
        XCTAssertEqual(log.ticks().map(\.value), [0.1, 1, 10, 100])
        let linear = Axis(scale: .linear, low: 0, high: 9_400, from: 0, to: 100)
        XCTAssertEqual(linear.ticks().map(\.label), ["0", "2000", "4000", "6000", "8000"])
    }

    /// A kill lasts until the restart of one of its nodes, a cut until the next heal, a fault never undone until the
    /// end of the history; steps that undo nothing draw nothing.
    func testNemesisFaultsBecomeIntervalsClosedByTheStepThatUndoesThem() {
        typealias Event = VerifyRunResult.NemesisEvent
        let events = [
            Event(atSeconds: 1, fault: "kill", target: "leader of key 0", nodes: [2]),
            Event(atSeconds: 2, fault: "restart", target: "killed", nodes: [3]),
            Event(atSeconds: 3, fault: "partition", target: "majority", nodes: [1, 2]),
            Event(atSeconds: 4, fault: "restart", target: "killed", nodes: [2]),
            Event(atSeconds: 6, fault: "heal", target: "all", nodes: [1, 2, 3]),
            Event(atSeconds: 7, fault: "pause", target: "one", nodes: [1]),
        ]
        let bands = VerifySection.faultIntervals(events, end: 9)
        XCTAssertEqual(bands.map(\.from), [1, 3, 7])
        XCTAssertEqual(bands.map(\.to), [4, 6, 9])
        XCTAssertEqual(bands.map(\.label), ["kill n2", "partition n1,n2", "pause n1"])
    }

    func testAnEmptyChartSaysSoAndCountsNoPoints() {
        var chart = SVGChart(id: "empty", title: "nothing", xLabel: "x", yLabel: "y", yScale: .log)
        chart.series = [.init(name: "zeros", points: [(1, 0), (2, 0)])]
        let svg = chart.render()
        XCTAssertTrue(svg.contains("data-points=\"0\"") && svg.contains("no data"), svg)
    }

    func testLinksToRunPagesAreRelativeToTheReport() {
        XCTAssertEqual(VerifySection.relative("/a/b/run/history.html", from: "/a/c"), "../b/run/history.html")
        XCTAssertEqual(VerifySection.relative("/a/run/history.html", from: "/a"), "run/history.html")
    }
}

final class GateMeasurementTests: XCTestCase {
    /// Callgrind names a function once with its id, then by id alone; recursion levels add `'2`. Every call into the
    /// C allocator counts, whoever made it; calls elsewhere do not.
    func testAllocationsAreTheCallsIntoTheAllocatorFromEveryCaller() {
        let output = """
        fn=(1) main
        cfn=(2) malloc
        calls=3 0
        5 120
        cfn=(3) memcpy
        calls=7 0
        5 70
        fn=(4) swift_slowAlloc
        cob=(1)
        cfn=(2)
        calls=4 0
        6 80
        cfn=(5) malloc'2
        calls=1 0
        6 9
        fn=(2)
        0 10
        summary: 1234
        """
        XCTAssertEqual(GateMeasurement.allocations(in: output), 8)
        XCTAssertEqual(try GateMeasurement.instructions(in: output, file: "f"), 1234)
    }
}
