import Foundation

/// Measures the deterministic tier: each `GateWorkload` run in a process of its own under valgrind's callgrind,
/// its instructions and heap allocations being the process's totals less those of `none` (start-up and exit) in
/// the same repetition. Counts move by a few in a million between runs, whatever else the machine is doing.
public enum GateMeasurement {
    public static let workloadName = "crucible gate micro-workloads"

    /// Why the deterministic tier cannot be measured here, or nil when it can.
    public static func unavailableReason() -> String? {
        for name in ["valgrind", "objcopy"] where tool(named: name) == nil {
            return "\(name) is needed to count instructions (Debian's valgrind and binutils; Scripts/setup.sh installs them)"
        }
        return nil
    }

    /// `executable` is this program; it is run as `EXECUTABLE gate --run-workload NAME`.
    public static func deterministic(executable: String, repetitions: Int,
                                     progress: (String) -> Void) throws -> [String: GateFile.Metric] {
        if let reason = unavailableReason() { throw GateInputError(reason) }
        let scratch = NSTemporaryDirectory() + "crucible-gate-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        // Valgrind 3.19 gives up on the DWARF 5 of a Swift 6 build; the code it counts is the same without it.
        let measured = scratch + "/crucible"
        try run(tool(named: "objcopy")!, ["--strip-debug", executable, measured])
        var samples: [String: [Double]] = [:]
        for repetition in 1...repetitions {
            var counts: [GateWorkload: (instructions: Double, allocations: Double)] = [:]
            for workload in GateWorkload.allCases {
                progress("repetition \(repetition)/\(repetitions): \(workload.rawValue)")
                let out = "\(scratch)/callgrind.\(workload.rawValue).\(repetition)"
                try run(tool(named: "valgrind")!, ["--tool=callgrind", "--callgrind-out-file=\(out)",
                                                         measured, "gate", "--run-workload", workload.rawValue])
                guard let text = try? String(contentsOfFile: out, encoding: .utf8) else {
                    throw GateInputError(out, "callgrind wrote no output")
                }
                counts[workload] = (try instructions(in: text, file: out), allocations(in: text))
            }
            for workload in GateWorkload.allCases where workload != .none {
                let own = counts[workload]!, base = counts[.none]!
                samples[workload.rawValue + ".instructions", default: []].append(max(0, own.instructions - base.instructions))
                samples[workload.rawValue + ".allocations", default: []].append(max(0, own.allocations - base.allocations))
            }
        }
        return Dictionary(uniqueKeysWithValues: samples.map { name, values in
            (name, GateFile.Metric(unit: name.hasSuffix(".allocations") ? "allocations" : "instructions",
                                   tier: .deterministic, better: .lower, samples: values))
        })
    }

    /// The `summary:` (or `totals:`) line of a callgrind output file: instructions executed.
    static func instructions(in text: String, file: String) throws -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix("summary:") || line.hasPrefix("totals:") {
            if let count = Double(line.split(separator: " ").last ?? "") { return count }
        }
        throw GateInputError(file, "no instruction count in callgrind's output")
    }

    static let allocators: Set<Substring> = ["malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "memalign"]

    /// Heap allocations: the calls callgrind recorded into the C allocator, every caller summed. A call site is a
    /// `cfn=` line (callee; names are given once as `(id) name`, then by id alone) followed by `calls=COUNT ...`.
    static func allocations(in text: String) -> Double {
        var names: [Substring: Substring] = [:]
        var callee: Substring?
        var total = 0.0
        for line in text.split(separator: "\n") {
            if line.hasPrefix("fn=") || line.hasPrefix("cfn=") {
                let spec = line.drop { $0 != "=" }.dropFirst()
                var name = spec
                if spec.hasPrefix("("), let close = spec.firstIndex(of: ")") {
                    let id = spec[spec.startIndex...close]
                    let rest = spec[spec.index(after: close)...].drop { $0 == " " }
                    if !rest.isEmpty { names[id] = rest }
                    name = names[id] ?? rest
                }
                callee = line.hasPrefix("cfn=") ? name.split(separator: "'").first : nil
            } else if line.hasPrefix("calls="), let function = callee {
                if allocators.contains(function), let count = Double(line.dropFirst(6).split(separator: " ").first ?? "") {
                    total += count
                }
                callee = nil
            }
        }
        return total
    }

    static func tool(named name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        // Swift seeds its hashing per process: fixed, dictionaries and sets do the same work every run.
        process.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_DETERMINISTIC_HASHING": "1"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let tail = String(decoding: message, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: " / ")
            throw GateInputError("\(([tool] + arguments).joined(separator: " ")) failed (exit \(process.terminationStatus)): \(tail)")
        }
    }
}
