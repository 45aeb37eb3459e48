import CrucibleRaft

// The simulated state machine is simply the list of committed entries, so a snapshot encodes all of them.
// That lets the checker compare every snapshot, fetched or taken, with the committed history.

enum SnapshotCodec {
    static func encode(_ entries: ArraySlice<RaftEntry>) -> [UInt8] {
        var bytes: [UInt8] = []
        for entry in entries {
            append(UInt32(bitPattern: entry.epoch), to: &bytes)
            switch entry.payload {
            case .records(let payload):
                bytes.append(0)
                append(UInt32(payload.count), to: &bytes)
                bytes += payload
            case .leaderChange(let leaderID, _):
                bytes.append(1)
                append(UInt32(bitPattern: leaderID), to: &bytes)
            }
        }
        return bytes
    }

    static func decode(_ bytes: [UInt8], voters: [RaftNodeID]) -> [RaftEntry] {
        var entries: [RaftEntry] = []
        var index = 0
        func read() -> UInt32 {
            defer { index += 4 }
            return bytes[index..<index + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }
        while index < bytes.count {
            let epoch = Int32(bitPattern: read())
            let kind = bytes[index]
            index += 1
            let payload: RaftPayload
            if kind == 0 {
                let count = Int(read())
                payload = .records(Array(bytes[index..<index + count]))
                index += count
            } else {
                payload = .leaderChange(leaderID: Int32(bitPattern: read()), voters: voters)
            }
            entries.append(RaftEntry(offset: Int64(entries.count), epoch: epoch, payload: payload))
        }
        return entries
    }

    private static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }
}
