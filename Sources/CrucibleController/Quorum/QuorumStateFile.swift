import CrucibleRaft
import CrucibleStorage

/// Kafka's `quorum-state` file: the epoch, the vote and the known leader, as a small JSON object. Written with
/// temp file, fsync and rename, so a crash leaves either the old or the new state, never a torn one.
struct QuorumStateFile {
    static let fileName = "quorum-state"
    let path: String

    init(directory: String) {
        path = directory + "/" + Self.fileName
    }

    func read() throws -> ElectionState {
        guard FileSystem.exists(path) else { return .initial }
        let text = String(decoding: try FileSystem.readAll(path), as: UTF8.self)
        guard let epoch = Self.integer("leaderEpoch", in: text) else {
            throw StorageError("\(path): no leaderEpoch in \(text)")
        }
        let leader = Self.integer("leaderId", in: text).flatMap { $0 >= 0 ? Int32($0) : nil }
        let voted = Self.integer("votedId", in: text).flatMap { $0 >= 0 ? Int32($0) : nil }
        return ElectionState(epoch: Int32(epoch), votedFor: voted, leaderID: leader)
    }

    func write(_ state: ElectionState, voters: [RaftNodeID]) throws {
        let votersJSON = voters.map { "{\"voterId\":\($0)}" }.joined(separator: ",")
        let text = "{\"clusterId\":\"\",\"leaderId\":\(state.leaderID ?? -1),\"leaderEpoch\":\(state.epoch),"
            + "\"votedId\":\(state.votedFor ?? -1),\"appliedOffset\":0,\"currentVoters\":[\(votersJSON)],"
            + "\"data_version\":0}"
        try FileSystem.writeAtomically(path, Array(text.utf8), syncDirectory: true)
    }

    /// The integer after `"key":` (the file is ours, so this small reader is enough).
    private static func integer(_ key: String, in text: String) -> Int64? {
        let marker = Array("\"\(key)\":".utf8)
        let bytes = Array(text.utf8)
        guard bytes.count >= marker.count,
              let start = (0...(bytes.count - marker.count)).first(where: { Array(bytes[$0..<($0 + marker.count)]) == marker })
        else { return nil }
        let digits = bytes[(start + marker.count)...].prefix { $0 == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        return Int64(String(decoding: digits, as: UTF8.self))
    }
}
