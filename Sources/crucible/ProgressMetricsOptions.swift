import ArgumentParser
import CrucibleMetrics

/// `--metrics-port` / `--metrics-host` on the long-running commands: the run's own progress as Prometheus
/// `/metrics`, for watching an hours-long bench or verify from a dashboard rather than its terminal.
struct ProgressMetricsOptions: ParsableArguments {
    @Option(name: .long, help: "Serve this run's own progress (rates, latencies, operations and anomalies so far) as Prometheus /metrics on this port (0: any free port; the URL is printed).")
    var metricsPort: Int?
    @Option(name: .long, help: "The address --metrics-port listens on (0.0.0.0 for every interface).")
    var metricsHost = "127.0.0.1"

    func check() throws {
        if let metricsPort, !(0...65_535).contains(metricsPort) {
            throw UsageError("--metrics-port \(metricsPort): must be 0 to 65535")
        }
    }

    /// Starts the endpoint when asked for; a port out of range or one that cannot be bound is a usage error.
    func start(note: (String) -> Void) throws -> ProgressEndpoint? {
        try check()
        guard let metricsPort else { return nil }
        do {
            let endpoint = try ProgressEndpoint(host: metricsHost, port: metricsPort)
            note("progress metrics: http://\(metricsHost):\(endpoint.port)/metrics")
            return endpoint
        } catch {
            throw UsageError("--metrics-port \(metricsPort): cannot listen on \(metricsHost): \(error)")
        }
    }
}
