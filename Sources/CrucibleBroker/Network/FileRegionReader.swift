import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// On a TLS connection the bytes must pass through the encryption, so the file regions Fetch answers with
/// (sent with sendfile on plaintext listeners) are read into buffers here, just before the TLS handler.
final class FileRegionReader: ChannelOutboundHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = ByteBuffer

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .byteBuffer(let buffer):
            context.write(wrapOutboundOut(buffer), promise: promise)
        case .fileRegion(let region):
            do {
                context.write(wrapOutboundOut(try Self.read(region, allocator: context.channel.allocator)), promise: promise)
            } catch {
                promise?.fail(error)
                context.fireErrorCaught(error)
            }
        }
    }

    /// The region's bytes; a file shorter than the region (truncated under us) is an error, not short data.
    static func read(_ region: FileRegion, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        let count = region.readableBytes
        var buffer = allocator.buffer(capacity: count)
        try region.fileHandle.withUnsafeFileDescriptor { descriptor in
            var done = 0
            while done < count {
                var got = 0
                buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - done) { target in
                    got = pread(descriptor, target.baseAddress, count - done, off_t(region.readerIndex + done))
                    return max(0, got)
                }
                guard got > 0 else { throw IOError(errnoCode: got < 0 ? errno : EIO, reason: "pread of a fetch response") }
                done += got
            }
        }
        return buffer
    }
}
