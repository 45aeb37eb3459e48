import CrucibleMetrics
import NIOConcurrencyHelpers
import XCTest

/// The registry's exposition and the scraper's parser agree with each other and with Prometheus' text format.
final class MetricsTextTests: XCTestCase {
    func testTheParserReadsLabelsCommentsAndValuesAndSkipsWhatItCannot() {
        let samples = MetricsScrape.parse("""
            # HELP kafka_server_brokertopicmetrics_messagesin_total Messages in.
            # TYPE kafka_server_brokertopicmetrics_messagesin_total counter
            kafka_server_brokertopicmetrics_messagesin_total{topic="orders"} 12
            kafka_server_brokertopicmetrics_messagesin_total{topic=""} 30
            kafka_network_requestmetrics_totaltimems_bucket{request="Produce",le="2.5"} 7 1700000000000
            odd{a="x,y",b="say \\"hi\\""} 1.5e3
            process_open_fds 28.0
            not a sample
            """)
        XCTAssertEqual(samples.count, 5, "\(samples)")
        XCTAssertEqual(samples[0], PrometheusSample(name: "kafka_server_brokertopicmetrics_messagesin_total", labels: ["topic": "orders"], value: 12))
        XCTAssertEqual(samples[1].labels, ["topic": ""])
        XCTAssertEqual(samples[2].labels, ["request": "Produce", "le": "2.5"])
        XCTAssertEqual(samples[2].value, 7)
        XCTAssertEqual(samples[3].labels, ["a": "x,y", "b": "say \"hi\""])
        XCTAssertEqual(samples[3].value, 1_500)
        XCTAssertEqual(samples[4], PrometheusSample(name: "process_open_fds", labels: [:], value: 28))
    }

    func testTransientSeriesEndWhenTheirCollectorNoLongerSetsThem() {
        let registry = MetricsRegistry()
        let partitions = NIOLockedValueBox(["a", "b"])
        registry.onScrape { metrics in
            for name in partitions.withLockedValue({ $0 }) { metrics.transientGauge("log_size", [("topic", name)]).set(1.0) }
        }
        func topics() -> Set<String> {
            Set(MetricsScrape.parse(String(decoding: registry.scrape(), as: UTF8.self))
                .filter { $0.name == "log_size" }.compactMap { $0.labels["topic"] })
        }
        XCTAssertEqual(topics(), ["a", "b"])
        partitions.withLockedValue { $0 = ["b"] }
        XCTAssertEqual(topics(), ["b"], "a deleted topic's series ends")
        partitions.withLockedValue { $0 = [] }
        XCTAssertEqual(topics(), [])
        partitions.withLockedValue { $0 = ["a"] }
        XCTAssertEqual(topics(), ["a"], "and comes back with the topic")
    }

    func testTransientSeriesWhoseLabelValuesHoldSeparatorsStayApart() {
        // Joined with "=" and "," these two would read alike ("a=1,b=2,b=3"); a group id may hold either.
        let registry = MetricsRegistry()
        registry.onScrape { metrics in
            metrics.transientGauge("lag", [("a", "1,b=2"), ("b", "3")]).set(1.0)
            metrics.transientGauge("lag", [("a", "1"), ("b", "2,b=3")]).set(2.0)
        }
        let lags = MetricsScrape.parse(String(decoding: registry.scrape(), as: UTF8.self)).filter { $0.name == "lag" }
        XCTAssertEqual(Set(lags.map(\.value)), [1, 2], "\(lags)")
    }

    func testAScrapeCarriesTheCollectorsProcessAndAllocatorFiguresAndSurvivesDisagreeingHelpTexts() {
        let registry = MetricsRegistry()
        registry.counter("requests_total", [("api", "")], help: "first").increment(by: Int64(3))
        registry.counter("requests_total", [("api", "Produce")], help: "another text").increment()
        registry.onScrape { $0.gauge("partitions").set(4.0) }
        let samples = MetricsScrape.parse(String(decoding: registry.scrape(), as: UTF8.self))
        let byName = Dictionary(samples.map { ("\($0.name)\($0.labels)", $0.value) }, uniquingKeysWith: { first, _ in first })
        XCTAssertEqual(byName["requests_total[\"api\": \"\"]"], 3)
        XCTAssertEqual(byName["requests_total[\"api\": \"Produce\"]"], 1)
        XCTAssertEqual(byName["partitions[:]"], 4)
        XCTAssertGreaterThan(byName["process_resident_memory_bytes[:]"] ?? 0, 0)
        XCTAssertGreaterThan(byName["process_open_fds[:]"] ?? 0, 0)
        XCTAssertEqual(AllocatorStatistics.isJemalloc, byName["crucible_jemalloc_allocated_bytes[:]"] != nil)
    }
}
