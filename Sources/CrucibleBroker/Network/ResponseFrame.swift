import NIOCore

/// An encoded response ready for the socket: its parts (buffers and, for Fetch, file regions) and the file
/// handles those regions read from, which the connection closes once the write has finished.
struct ResponseFrame {
    var parts: [IOData]
    var fileHandles: [NIOFileHandle] = []

    func closeFiles() {
        for handle in fileHandles { try? handle.close() }
    }
}
