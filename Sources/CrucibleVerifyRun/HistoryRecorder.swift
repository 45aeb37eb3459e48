import CrucibleVerify
import Foundation
import NIOConcurrencyHelpers

/// The run's history, written as it happens: one `history.jsonl` line per operation, flushed at once, so a run
/// that crashes still leaves a history the checker can read. Indices and times are assigned under one lock, so
/// the file's order is the order things happened in.
final class HistoryRecorder: @unchecked Sendable {
    private struct State {
        var next = 0
        var file: FileHandle?
    }

    private let state: NIOLockedValueBox<State>
    private let origin = DispatchTime.now().uptimeNanoseconds
    let path: String

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path) else {
            throw VerifyFailure("cannot write \(path)")
        }
        self.path = path
        state = NIOLockedValueBox(State(file: file))
    }

    /// Nanoseconds since the run began.
    var elapsedNanos: Int { Int(DispatchTime.now().uptimeNanoseconds - origin) }

    /// Records one operation; returns its index.
    @discardableResult
    func record(process: CrucibleVerify.Process, type: OperationType, f: String, value: Value,
                extra: [Value.MapEntry] = []) -> Int {
        state.withLockedValue { state in
            let op = Operation(index: state.next, time: elapsedNanos, process: process, type: type, f: f, value: value,
                               extra: extra)
            state.next += 1
            state.file?.write(Data((HistoryWriter.jsonl(op) + "\n").utf8))
            return op.index
        }
    }

    func close() {
        state.withLockedValue { state in
            try? state.file?.synchronize()
            try? state.file?.close()
            state.file = nil
        }
    }
}

public struct VerifyFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
