import CrucibleRaft  // SplitMix64: the project's seeded generator
import Foundation

/// The payloads a workload's producers send: the payload file's bytes, or OMB's randomized pool (each payload
/// `randomBytesRatio` random bytes followed by zeros, so its compressibility is set by the ratio).
public struct PayloadPool: Sendable {
    public let payloads: [[UInt8]]

    public init(workload: Workload, seed: UInt64 = 0x5eed) throws {
        if workload.useRandomizedPayloads {
            var generator = SplitMix64(seed: seed)
            let random = Int((Double(workload.messageSize) * workload.randomBytesRatio).rounded())
            payloads = (0..<max(1, workload.randomizedPayloadPoolSize)).map { _ in
                (0..<random).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                    + [UInt8](repeating: 0, count: workload.messageSize - random)
            }
        } else if let path = workload.payloadFile, let data = FileManager.default.contents(atPath: path) {
            payloads = [[UInt8](data)]
        } else {
            throw WorkloadFileError(workload.fileBaseName, "payloadFile: \(workload.payloadFile ?? "none") cannot be read")
        }
    }

    /// The payload for the n-th message of a producer: the pool taken in turn.
    @inline(__always) public func payload(_ n: Int) -> [UInt8] { payloads[n % payloads.count] }
}

/// OMB's key distributors over a fixed set of 10,000 random keys (`NO_KEY` sends none, so the client's
/// partitioner spreads records itself).
public struct KeyDistributor: Sendable {
    public static let uniqueKeys = 10_000
    private let keys: [[UInt8]]
    private let kind: KeyDistributorKind
    private var next = 0
    private var random: SplitMix64

    public init(_ kind: KeyDistributorKind, seed: UInt64) {
        self.kind = kind
        random = SplitMix64(seed: seed)
        var generator = SplitMix64(seed: 0x6b657973)  // the same key set in every producer, as OMB's
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        keys = kind == .noKey ? [] : (0..<Self.uniqueKeys).map { _ in
            (0..<7).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
        }
    }

    public mutating func nextKey() -> [UInt8]? {
        switch kind {
        case .noKey: return nil
        case .keyRoundRobin:
            defer { next = (next + 1) % keys.count }
            return keys[next]
        case .randomNano:
            return keys[Int(random.next() % UInt64(keys.count))]
        }
    }
}
