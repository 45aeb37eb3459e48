import CrucibleClient
import Foundation

/// Where `consumer-groups --reset-offsets` moves a group's offsets (kafka-consumer-groups.sh's scenarios).
enum OffsetResetSpec: Equatable {
    case earliest
    case latest
    case offset(Int64)
    case shiftBy(Int64)
    /// The first offset at or after this time (ms since the epoch); `--to-datetime` and `--by-duration`.
    case timestamp(Int64)

    /// What the plan needs from the brokers besides log start and end offsets.
    var needsCommitted: Bool { if case .shiftBy = self { return true } else { return false } }
    var timestampMs: Int64? { if case .timestamp(let ms) = self { return ms } else { return nil } }
}

/// The offsets the brokers report for the partitions being reset.
struct PartitionOffsets {
    var logStart: [TopicPartition: Int64]
    var logEnd: [TopicPartition: Int64]
    var committed: [TopicPartition: Int64] = [:]
    /// ListOffsets by timestamp: -1 where no record is that late.
    var byTimestamp: [TopicPartition: Int64] = [:]
}

struct OffsetResetError: Error, CustomStringConvertible {
    let description: String
}

/// Kafka's reset plan: explicit and shifted offsets are clamped to [log start, log end]; a time later than every
/// record falls back to the log end (with Kafka's warning); a shift needs a committed offset.
enum OffsetResetPlan {
    static func compute(_ spec: OffsetResetSpec, partitions: [TopicPartition], offsets: PartitionOffsets,
                        warn: (String) -> Void = { _ in }) throws -> [TopicPartition: Int64] {
        var plan: [TopicPartition: Int64] = [:]
        for partition in partitions {
            guard let start = offsets.logStart[partition], let end = offsets.logEnd[partition] else {
                throw OffsetResetError(description: "Error getting the offsets of topic partition: \(partition)")
            }
            switch spec {
            case .earliest:
                plan[partition] = start
            case .latest:
                plan[partition] = end
            case .offset(let offset):
                plan[partition] = min(max(offset, start), end)
            case .shiftBy(let delta):
                guard let current = offsets.committed[partition] else {
                    throw OffsetResetError(description:
                        "Cannot shift offset for partition \(partition) since there is no current committed offset")
                }
                let (shifted, overflow) = current.addingReportingOverflow(delta)
                plan[partition] = overflow ? (delta < 0 ? start : end) : min(max(shifted, start), end)
            case .timestamp:
                let found = offsets.byTimestamp[partition] ?? -1
                if found < 0 {
                    warn("\nWarn: Partition \(partition.partition) from topic \(partition.topic) is empty. "
                         + "Falling back to latest known offset.")
                }
                // Kafka's brokers never answer below the log start; clamping keeps the plan right with one that does.
                plan[partition] = found < 0 ? end : min(max(found, start), end)
            }
        }
        return plan
    }
}

/// The time formats `--to-datetime` and `--by-duration` take, as Kafka parses them.
enum ResetTimeFormat {
    /// `YYYY-MM-DDTHH:mm:SS.sss` with an optional zone (`Z`, `+HH`, `+HHMM`, `+HH:MM`); without one, UTC
    /// (Kafka's `Utils.getDateTime` appends `Z`). Nil when malformed or not a real date.
    static func dateTimeMs(_ text: String) -> Int64? {
        let pattern = #"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})(Z|[+-]\d{2}(?::?\d{2})?)?$"#
        guard let match = text.wholeMatch(of: try! Regex(pattern)) else { return nil }
        func number(_ index: Int) -> Int { Int(match.output[index].substring!)! }
        var components = DateComponents()
        (components.year, components.month, components.day) = (number(1), number(2), number(3))
        (components.hour, components.minute, components.second) = (number(4), number(5), number(6))
        guard let zone = zoneOffsetSeconds(match.output[8].substring.map(String.init) ?? "Z"),
              let timeZone = TimeZone(secondsFromGMT: zone) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        components.timeZone = timeZone
        // Strict, as Kafka's non-lenient parser: February 30th is refused, not rolled over.
        guard components.isValidDate(in: calendar), let date = calendar.date(from: components) else { return nil }
        return Int64((date.timeIntervalSince1970 * 1000).rounded()) + Int64(number(7))
    }

    private static func zoneOffsetSeconds(_ zone: String) -> Int? {
        if zone == "Z" { return 0 }
        let sign = zone.hasPrefix("-") ? -1 : 1
        let digits = zone.dropFirst().filter(\.isNumber)
        guard let hours = Int(digits.prefix(2)), hours <= 18 else { return nil }
        let minutes = digits.count > 2 ? Int(digits.dropFirst(2)) ?? 99 : 0
        guard minutes < 60 else { return nil }
        return sign * (hours * 3600 + minutes * 60)
    }

    /// Java's `Duration.parse` (`PnDTnHnMn.nS`, any case, signs allowed on the whole and on each part) in
    /// milliseconds; nil when malformed.
    static func durationMs(_ text: String) -> Int64? {
        let number = #"([+-]?\d+)"#
        let pattern = "^([+-]?)P(?:\(number)D)?(?:T(?:\(number)H)?(?:\(number)M)?(?:([+-]?\\d+)(?:[.,](\\d{0,9}))?S)?)?$"
        guard let match = text.uppercased().wholeMatch(of: try! Regex(pattern)) else { return nil }
        let part = { (index: Int) -> Int64? in match.output[index].substring.flatMap { Int64($0) } }
        let (days, hours, minutes, seconds) = (part(2), part(3), part(4), part(5))
        // "P" and "PT" alone are not durations; "T" needs a part after it.
        guard days != nil || hours != nil || minutes != nil || seconds != nil,
              !text.uppercased().hasSuffix("T") else { return nil }
        // Each part and the sum must fit in 64-bit milliseconds (Java refuses what overflows its Duration).
        var ms: Int64 = 0
        for (value, unitMs) in [(days, 86_400_000), (hours, 3_600_000), (minutes, 60_000), (seconds, 1000)] as [(Int64?, Int64)] {
            let (product, overflow) = (value ?? 0).multipliedReportingOverflow(by: unitMs)
            guard !overflow, case let (sum, false) = ms.addingReportingOverflow(product) else { return nil }
            ms = sum
        }
        if let fraction = match.output[6].substring, !fraction.isEmpty {
            let millis = Int64(fraction.prefix(3).padding(toLength: 3, withPad: "0", startingAt: 0))!
            ms += (match.output[5].substring!.hasPrefix("-") ? -millis : millis)
        }
        return match.output[1].substring == "-" ? -ms : ms
    }
}
