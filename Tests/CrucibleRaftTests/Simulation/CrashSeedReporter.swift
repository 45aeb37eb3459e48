#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A precondition failing inside the core kills the test process before XCTest can report anything. So that
// such a crash still names its seed, the seed being run is kept in a static buffer and a signal handler
// writes it out (write(2) only: nothing else is safe in a handler).

enum CrashSeedReporter {
    nonisolated(unsafe) private static var message = [UInt8](repeating: 0, count: 160)
    nonisolated(unsafe) private static var messageLength = 0
    nonisolated(unsafe) private static var installed = false

    static func running(seed: UInt64, in name: String) {
        install()
        let text = Array("\nsimulation crashed in \(name) seed \(seed); replay: CRUCIBLE_RAFT_SEED=\(seed)\n".utf8)
        messageLength = min(text.count, message.count)
        message.withUnsafeMutableBufferPointer { buffer in
            for index in 0..<messageLength { buffer[index] = text[index] }
        }
    }

    private static func install() {
        guard !installed else { return }
        installed = true
        for signalNumber in [SIGILL, SIGTRAP, SIGABRT, SIGSEGV] {
            signal(signalNumber) { signalNumber in
                CrashSeedReporter.message.withUnsafeBufferPointer { buffer in
                    _ = write(2, buffer.baseAddress, CrashSeedReporter.messageLength)
                }
                signal(signalNumber, SIG_DFL)
                raise(signalNumber)
            }
        }
    }
}
