import CAllocatorStats
import Foundation
import NIOConcurrencyHelpers
import Prometheus

/// One process's metrics in Prometheus' text format. Counters and histograms are updated where things happen;
/// gauges that describe state (partitions under-replicated, the active controller) are set by collectors run at
/// each scrape, so nothing is computed between scrapes. Every scrape also carries the process's CPU, memory and
/// open files (Prometheus' standard `process_*` names) and the allocator's statistics.
public final class MetricsRegistry: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let collectors = NIOLockedValueBox<[@Sendable (MetricsRegistry) -> Void]>([])
    private let helps = NIOLockedValueBox<[String: String]>([:])
    /// One scrape's collectors at a time: the transient gauges are reconciled per scrape.
    private let scraping = NIOLock()

    public init() {}

    public func counter(_ name: String, _ labels: [(String, String)] = [], help: String = "") -> Counter {
        registry.makeCounter(descriptor: descriptor(name, help), labels: labels)
    }

    public func gauge(_ name: String, _ labels: [(String, String)] = [], help: String = "") -> Gauge {
        registry.makeGauge(descriptor: descriptor(name, help), labels: labels)
    }

    public func histogram(_ name: String, _ labels: [(String, String)] = [], buckets: [Double], help: String = "") -> ValueHistogram {
        registry.makeValueHistogram(descriptor: descriptor(name, help), labels: labels, buckets: buckets)
    }

    /// Gauges of things that come and go (a partition's size, a group's lag): each scrape sets those that exist
    /// now, and those it did not set are dropped, so a deleted topic's series end with it.
    private let transient = NIOLockedValueBox<(all: [String: Gauge], set: Set<String>)>(([:], []))

    /// A gauge of something that may go away; only for collectors run at each scrape.
    public func transientGauge(_ name: String, _ labels: [(String, String)], help: String = "") -> Gauge {
        // NUL between the parts: label values are any string (a group id may hold "," or "="), never a NUL.
        let key = ([name] + labels.flatMap { [$0.0, $0.1] }).joined(separator: "\u{0}")
        return transient.withLockedValue { transient in
            transient.set.insert(key)
            if let known = transient.all[key] { return known }
            let made = gauge(name, labels, help: help)
            transient.all[key] = made
            return made
        }
    }

    /// Runs `collect` before every scrape.
    public func onScrape(_ collect: @escaping @Sendable (MetricsRegistry) -> Void) {
        collectors.withLockedValue { $0.append(collect) }
    }

    /// The exposition: collectors run, process and allocator statistics read, every metric written.
    public func scrape() -> [UInt8] {
        scraping.withLock {
            transient.withLockedValue { $0.set = [] }
            for collect in collectors.withLockedValue({ $0 }) { collect(self) }
            let gone = transient.withLockedValue { transient in
                let keys = transient.all.keys.filter { !transient.set.contains($0) }
                return keys.compactMap { transient.all.removeValue(forKey: $0) }
            }
            for gauge in gone { registry.unregisterGauge(gauge) }
        }
        ProcessStatistics.read().record(into: self)
        AllocatorStatistics.read()?.record(into: self)
        return registry.emitToBuffer()
    }

    /// The help text a name was first given: the underlying registry stops the process when two series of one
    /// name disagree on it, so every later series reuses it whatever its caller passed.
    private func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        let text = helps.withLockedValue { helps in
            if let known = helps[name] { return known }
            helps[name] = help
            return help
        }
        return MetricNameDescriptor(metricName: name, unitName: "", helpText: text)
    }
}

/// This process as `/proc` describes it.
public struct ProcessStatistics: Sendable {
    public var cpuSeconds: Double
    public var residentBytes: Double
    public var openFiles: Double
    public var maxFiles: Double

    public static func read() -> ProcessStatistics {
        var statistics = ProcessStatistics(cpuSeconds: 0, residentBytes: 0, openFiles: 0, maxFiles: 0)
        // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) {
                statistics.cpuSeconds = (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
            }
        }
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = statm.split(separator: " ")
            if fields.count > 1, let pages = Double(fields[1]) { statistics.residentBytes = pages * Double(sysconf(Int32(_SC_PAGESIZE))) }
        }
        statistics.openFiles = Double((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.count ?? 0)
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 { statistics.maxFiles = Double(limit.rlim_cur) }
        return statistics
    }

    func record(into metrics: MetricsRegistry) {
        metrics.gauge("process_cpu_seconds_total", help: "User and system CPU time spent in seconds.").set(cpuSeconds)
        metrics.gauge("process_resident_memory_bytes", help: "Resident memory size in bytes.").set(residentBytes)
        metrics.gauge("process_open_fds", help: "Number of open file descriptors.").set(openFiles)
        metrics.gauge("process_max_fds", help: "Maximum number of open file descriptors.").set(maxFiles)
    }
}

/// jemalloc's statistics (nil with glibc's allocator).
public struct AllocatorStatistics: Sendable {
    public var allocated: UInt64
    public var active: UInt64
    public var resident: UInt64
    public var metadata: UInt64
    public var mapped: UInt64

    public static var isJemalloc: Bool { crucible_allocator_is_jemalloc() != 0 }

    public static func read() -> AllocatorStatistics? {
        var raw = crucible_allocator_stats()
        guard crucible_allocator_read(&raw) == 0 else { return nil }
        return AllocatorStatistics(allocated: raw.allocated, active: raw.active, resident: raw.resident,
                                   metadata: raw.metadata, mapped: raw.mapped)
    }

    func record(into metrics: MetricsRegistry) {
        for (name, value, help) in [
            ("allocated", allocated, "Bytes allocated by the application (jemalloc stats.allocated)."),
            ("active", active, "Bytes in active pages (jemalloc stats.active)."),
            ("resident", resident, "Bytes in physically resident data pages mapped by jemalloc (stats.resident)."),
            ("metadata", metadata, "Bytes of jemalloc's own metadata (stats.metadata)."),
            ("mapped", mapped, "Bytes in extents mapped by jemalloc (stats.mapped)."),
        ] {
            metrics.gauge("crucible_jemalloc_\(name)_bytes", help: help).set(Double(value))
        }
    }
}
