// swift-tools-version:6.0
import PackageDescription

// Layers, lowest first. A target may depend only on targets above it in this list:
//   C shims, CrucibleMutations, CrucibleMetrics -> CrucibleProtocol -> CrucibleSecurity -> CrucibleRecords -> CrucibleGroups -> CrucibleTransactions
//   -> CrucibleStorage -> CrucibleRaft
//   -> CrucibleClient -> CrucibleController -> CrucibleBroker -> CrucibleWorkload -> CrucibleRdKafka -> CrucibleBench
//   / CrucibleVerify (checkers) -> CrucibleVerifyRun -> CrucibleReport (reports, the gate) -> crucible (CLI)
// (The client sits below the controller because the metadata quorum's peers talk to each other with it.)
let swiftSettings: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
// jemalloc (Debian's libjemalloc-dev) is the allocator; `CRUCIBLE_ALLOCATOR=glibc swift build ...` builds with glibc's
// instead, for comparison (docs/PERFORMANCE.md).
let jemalloc = Context.environment["CRUCIBLE_ALLOCATOR"] != "glibc"

let package = Package(
    name: "Crucible",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "crucible", targets: ["crucible"]),
        // Preloaded into nodes whose disks the verify nemesis breaks; built beside the executable.
        .library(name: "CrucibleDiskFault", type: .dynamic, targets: ["CrucibleDiskFault"]),
        // Preloaded into nodes whose clocks libfaketime moves: glibc's malloc instead of the linked jemalloc.
        .library(name: "CrucibleGlibcMalloc", type: .dynamic, targets: ["CrucibleGlibcMalloc"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // System libraries from Debian packages.
        .systemLibrary(name: "CZlib", path: "Sources/CSystem/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLZ4", path: "Sources/CSystem/CLZ4", pkgConfig: "liblz4",
                       providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CSystem/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSnappy", path: "Sources/CSystem/CSnappy", pkgConfig: "snappy",
                       providers: [.apt(["libsnappy-dev"])]),
        // librdkafka, the client the benchmark drives load with (the one users run).
        .systemLibrary(name: "CRdKafka", path: "Sources/CSystem/CRdKafka", pkgConfig: "rdkafka",
                       providers: [.apt(["librdkafka-dev"])]),
        // CRC-32C with SSE4.2 when the CPU has it.
        .target(name: "CCRC32C", path: "Sources/CSystem/CCRC32C"),
        // The allocator's statistics through jemalloc's mallctl, and jemalloc linked as the allocator.
        .target(name: "CAllocatorStats", path: "Sources/CSystem/CAllocatorStats",
                cSettings: jemalloc ? [.define("CRUCIBLE_JEMALLOC")] : [],
                linkerSettings: jemalloc ? [.linkedLibrary("jemalloc")] : []),
        // A preload library failing a process's writes or fsyncs under a directory (verify's disk faults).
        .target(name: "CrucibleDiskFault", linkerSettings: [.linkedLibrary("dl")]),
        // glibc's malloc family for a process that preloads libfaketime, which cannot start beside jemalloc.
        .target(name: "CrucibleGlibcMalloc", linkerSettings: [.linkedLibrary("dl")]),

        // Wire protocol: primitives, generated message types, error codes.
        .target(name: "CrucibleProtocol",
                dependencies: [.product(name: "NIOCore", package: "swift-nio")],
                swiftSettings: swiftSettings),
        // Record batches (magic 2), CRC and compression codecs.
        .target(name: "CrucibleRecords",
                dependencies: ["CrucibleProtocol", "CCRC32C", "CZlib", "CLZ4", "CZstd", "CSnappy",
                               .product(name: "NIOCore", package: "swift-nio")],
                swiftSettings: swiftSettings),
        // Security shared by broker and client: TLS settings from Kafka's keys, SASL (PLAIN, SCRAM) as pure state
        // machines, salted credentials, ACL authorization, certificates for local clusters.
        .target(name: "CrucibleSecurity",
                dependencies: ["CrucibleProtocol",
                               .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "NIOSSL", package: "swift-nio-ssl"),
                               .product(name: "Crypto", package: "swift-crypto"),
                               .product(name: "X509", package: "swift-certificates"),
                               .product(name: "SwiftASN1", package: "swift-asn1")],
                swiftSettings: swiftSettings),
        // Metrics in Prometheus' text format with the names Kafka's JMX exporter gives Kafka's MBeans, process and
        // allocator statistics, and the HTTP endpoint serving them.
        .target(name: "CrucibleMetrics",
                dependencies: ["CAllocatorStats", .product(name: "Prometheus", package: "swift-prometheus"),
                               .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "NIOPosix", package: "swift-nio"),
                               .product(name: "NIOHTTP1", package: "swift-nio"),
                               .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
                swiftSettings: swiftSettings),
        // Broker bugs planted for `crucible verify --mutation`: only in a build with -DCRUCIBLE_MUTATIONS.
        .target(name: "CrucibleMutations", dependencies: [], swiftSettings: swiftSettings),
        // Segmented partition logs on disk, indexes, recovery, producer state.
        .target(name: "CrucibleStorage",
                dependencies: ["CrucibleRecords", "CrucibleMutations", .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                               .product(name: "Logging", package: "swift-log")],
                swiftSettings: swiftSettings),
        // The Raft core as a pure state machine (no I/O).
        .target(name: "CrucibleRaft", dependencies: [], swiftSettings: swiftSettings),
        // The metadata image, the controller's commands and the metadata log they are written to.
        .target(name: "CrucibleController",
                dependencies: ["CrucibleProtocol", "CrucibleRecords", "CrucibleStorage", "CrucibleRaft", "CrucibleClient",
                               "CrucibleMutations", "CrucibleSecurity",
                               .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "NIOPosix", package: "swift-nio"),
                               .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                               .product(name: "Logging", package: "swift-log")],
                swiftSettings: swiftSettings),
        // Consumer groups: the coordinator's state machine (pure), `__consumer_offsets` records, the consumer
        // protocol's metadata.
        .target(name: "CrucibleGroups",
                dependencies: ["CrucibleProtocol", .product(name: "NIOCore", package: "swift-nio")],
                swiftSettings: swiftSettings),
        // Transactions: the coordinator's state machine (pure), `__transaction_state` records.
        .target(name: "CrucibleTransactions",
                dependencies: ["CrucibleProtocol", "CrucibleGroups", .product(name: "NIOCore", package: "swift-nio")],
                swiftSettings: swiftSettings),
        // The broker: network server, request handlers, partition management.
        .target(name: "CrucibleBroker",
                dependencies: ["CrucibleProtocol", "CrucibleRecords", "CrucibleStorage", "CrucibleClient",
                               "CrucibleController", "CrucibleGroups", "CrucibleTransactions", "CrucibleMutations",
                               "CrucibleSecurity", "CrucibleMetrics", .product(name: "NIOSSL", package: "swift-nio-ssl"),
                               .product(name: "Prometheus", package: "swift-prometheus"),
                               .product(name: "NIOTLS", package: "swift-nio"),
                               .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "NIOPosix", package: "swift-nio"),
                               .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                               .product(name: "Atomics", package: "swift-atomics"),
                               .product(name: "Logging", package: "swift-log")],
                swiftSettings: swiftSettings),
        // A small Kafka client on the project's own protocol code (tools, harness).
        .target(name: "CrucibleClient",
                dependencies: ["CrucibleProtocol", "CrucibleRecords", "CrucibleGroups", "CrucibleSecurity",
                               .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "NIOSSL", package: "swift-nio-ssl"),
                               .product(name: "NIOPosix", package: "swift-nio")],
                swiftSettings: swiftSettings),
        // Benchmark definitions and measurement, pure: OMB workload and driver files, payloads and keys, the open-loop
        // send schedule, the maximum-rate search, latency histograms, HdrHistogram interval logs, OMB's result JSON.
        .target(name: "CrucibleWorkload",
                dependencies: ["CZlib", "CrucibleRaft", "CrucibleSecurity", .product(name: "Yams", package: "Yams"),
                               .product(name: "Histogram", package: "hdrhistogram-swift")],
                swiftSettings: swiftSettings),
        // librdkafka, the client users run: configuration objects from Kafka properties, and its clock helpers.
        .target(name: "CrucibleRdKafka", dependencies: ["CRdKafka", "CrucibleWorkload"], swiftSettings: swiftSettings),
        // Benchmark runs: load on librdkafka, topics and log sizes through the admin client, calibration of this
        // machine, failover, results written.
        .target(name: "CrucibleBench",
                dependencies: ["CrucibleWorkload", "CrucibleClient", "CrucibleProtocol", "CRdKafka", "CrucibleRdKafka", "CrucibleSecurity",
                               "CrucibleMetrics",
                               .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                               .product(name: "Histogram", package: "hdrhistogram-swift")],
                swiftSettings: swiftSettings),
        // Checkers on histories alone: Kafka queue analysis, linearizability.
        .target(name: "CrucibleVerify", dependencies: [], swiftSettings: swiftSettings),
        // Verification runs, Jepsen's parts: queue-workload clients on librdkafka recording a history, the nemesis
        // acting on the cluster, then the checker and the scenario's expectation.
        .target(name: "CrucibleVerifyRun",
                dependencies: ["CrucibleWorkload", "CrucibleVerify", "CrucibleClient", "CrucibleProtocol", "CrucibleSecurity", "CrucibleMetrics", "CRdKafka",
                               "CrucibleRdKafka", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
                swiftSettings: swiftSettings),
        // Reports and the CI regression gate, over what bench, verify and check write.
        .target(name: "CrucibleReport",
                dependencies: ["CrucibleRecords", "CrucibleStorage", "CrucibleVerify", "CrucibleVerifyRun", "CrucibleWorkload",
                               .product(name: "NIOCore", package: "swift-nio")],
                swiftSettings: swiftSettings),
        // The front door.
        .executableTarget(name: "crucible",
                          dependencies: ["CrucibleBroker", "CrucibleClient", "CrucibleVerify", "CrucibleStorage", "CrucibleGroups",
                                         "CrucibleBench", "CrucibleWorkload", "CrucibleRdKafka", "CrucibleVerifyRun", "CrucibleMutations",
                                         "CrucibleReport", "CrucibleTransactions", "CrucibleSecurity", "CrucibleController", "CrucibleMetrics",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Logging", package: "swift-log")],
                          swiftSettings: swiftSettings),
        // Writes Sources/CrucibleProtocol/Generated from ../shared/kafka-protocol.
        .executableTarget(name: "crucible-protocol-gen", path: "Sources/ProtocolGenerator"),

        .testTarget(name: "CrucibleProtocolTests", dependencies: ["CrucibleProtocol"]),
        .testTarget(name: "CrucibleRecordsTests", dependencies: ["CrucibleRecords"]),
        .testTarget(name: "CrucibleStorageTests", dependencies: ["CrucibleStorage", "CrucibleMutations",
                                                                 .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        .testTarget(name: "CrucibleRaftTests", dependencies: ["CrucibleRaft"]),
        .testTarget(name: "CrucibleSecurityTests", dependencies: ["CrucibleSecurity"]),
        .testTarget(name: "CrucibleControllerTests",
                    dependencies: ["CrucibleController", "CrucibleClient",
                                   .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(name: "CrucibleBrokerTests", dependencies: ["CrucibleBroker", "CrucibleClient", "CrucibleController",
                                                                "CrucibleProtocol"]),
        .testTarget(name: "CrucibleVerifyTests", dependencies: ["CrucibleVerify"]),
        .testTarget(name: "CrucibleReportTests", dependencies: ["CrucibleReport"]),
        .testTarget(name: "CrucibleGroupsTests", dependencies: ["CrucibleGroups"]),
        .testTarget(name: "CrucibleTransactionsTests", dependencies: ["CrucibleTransactions", "CrucibleGroups", "CrucibleStorage",
                                                                      "CrucibleRecords", "CrucibleProtocol",
                                                                      .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "CrucibleWorkloadTests", dependencies: ["CrucibleWorkload", "CrucibleBench", "CrucibleSecurity",
                                                                  .product(name: "Histogram", package: "hdrhistogram-swift")]),
        // The command-line tools' pure parts (plans, parsing, Kafka's table formats).
        .testTarget(name: "CrucibleToolTests", dependencies: ["crucible", "CrucibleClient", "CrucibleGroups", "CrucibleRecords",
                                                              "CrucibleVerifyRun", "CrucibleMetrics",
                                                              .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
    ]
)
