#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The record file, written through a shared mapping: each record is formatted straight into
/// the file's pages, which belong to the kernel's page cache the moment they are written. A
/// crash of xkv (a signal, a trap, SIGKILL) therefore loses at most the record being
/// written, with no write(2) per record: checkpoints are taken at every hypercall, on the
/// vCPU's thread, and must cost next to nothing (issue 5).
///
/// Space is allocated ahead in `chunk`-sized steps with posix_fallocate, so a full disk is an
/// error here and never a SIGBUS on a page fault. Where a file system cannot allocate ahead, or
/// the mapping fails, records go out with one write(2) each instead. `close()` cuts the file
/// to what was written; a file that was never closed ends in zero bytes, which `RecordFile`
/// reads as the end of an interrupted recording.
///
/// Not thread-safe: the recorder calls it under its lock.
final class RecordWriter {
    let path: String
    private let fd: Int32
    private var base: UnsafeMutablePointer<UInt8>?
    /// Bytes of the file allocated (mapped mode) and written.
    private var allocated = 0
    private(set) var written = 0
    /// A line being built when the file is not mapped.
    private var scratch: UnsafeMutablePointer<UInt8>
    private var scratchSize = 1 << 16
    private var closed = false
    /// A write failed: the record ends at `written`, and later lines are dropped.
    private var failed = false

    /// Address space reserved for the mapping; a record that outgrows it goes on with write(2).
    static let reservation = 1 << 36
    static let chunk = 4 << 20

    init(path: String) throws(RecordError) {
        self.path = path
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RecordError("cannot create record '\(path)': \(String(cString: strerror(errno)))") }
        self.fd = fd
        scratch = .allocate(capacity: scratchSize)
        let mapping = mmap(nil, Self.reservation, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        if let mapping, mapping != MAP_FAILED { base = mapping.assumingMemoryBound(to: UInt8.self) }
    }

    deinit {
        _ = close()
        scratch.deallocate()
    }

    /// Room for a line of at most `size` bytes: write into it, then `commit` what was used.
    /// Nil when the record cannot grow (the error is returned by `commit` of a nil reservation).
    func reserve(_ size: Int) -> UnsafeMutablePointer<UInt8>? {
        guard !closed, !failed else { return nil }
        if let base {
            if written + size <= allocated { return base + written }
            let want = max(allocated + Self.chunk, written + size + Self.chunk)
            if want <= Self.reservation && posix_fallocate(fd, off_t(allocated), off_t(want - allocated)) == 0 {
                // Fault the new pages in now, in one go, rather than one at a time as records
                // reach them (MADV_POPULATE_WRITE, Linux 5.14; older kernels just fault later).
                let page = Int(getpagesize())
                let from = allocated / page * page
                _ = madvise(base + from, want - from, 23)
                allocated = want
                return base + written
            }
            // Cannot allocate ahead (or out of reserved space): cut the file to what was written
            // and go on with write(2).
            unmap()
        }
        if size > scratchSize {
            scratch.deallocate()
            scratchSize = size
            scratch = .allocate(capacity: size)
        }
        return scratch
    }

    /// Takes the first `count` bytes of the last reservation as a whole line; returns a write
    /// error, if any.
    func commit(_ count: Int) -> String? {
        guard !closed, !failed else { return nil }
        if base != nil {
            written += count
            return nil
        }
        var offset = 0
        while offset < count {
            let n = write(fd, scratch + offset, count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                // Take back the part of the line that got out and write nothing more: the
                // record stays whole up to here and replays as a cut record.
                let error = "write failed: \(String(cString: strerror(errno)))"
                _ = ftruncate(fd, off_t(written))
                failed = true
                return error
            }
            offset += n
        }
        written += count
        return nil
    }

    /// Appends a whole framed line; returns a write error, if any.
    func append(_ line: [UInt8]) -> String? {
        guard let room = reserve(line.count) else { return closed || failed ? nil : "cannot grow the record" }
        line.withUnsafeBufferPointer { room.update(from: $0.baseAddress!, count: $0.count) }
        return commit(line.count)
    }

    private func unmap() {
        guard let base else { return }
        munmap(base, Self.reservation)
        self.base = nil
        _ = ftruncate(fd, off_t(written))
        _ = lseek(fd, off_t(written), SEEK_SET)
    }

    /// Cuts the file to what was written and closes it; returns an error, if any.
    func close() -> String? {
        guard !closed else { return nil }
        closed = true
        var error: String?
        if let base {
            munmap(base, Self.reservation)
            self.base = nil
            if ftruncate(fd, off_t(written)) != 0 { error = "cannot set the record's length: \(String(cString: strerror(errno)))" }
        }
        #if canImport(Glibc)
        _ = Glibc.close(fd)
        #else
        _ = Darwin.close(fd)
        #endif
        return error
    }
}

/// Writes a line into reserved bytes without allocating: the checkpoint path formats here.
struct LineCursor {
    let start: UnsafeMutablePointer<UInt8>
    var p: UnsafeMutablePointer<UInt8>

    init(_ start: UnsafeMutablePointer<UInt8>) {
        self.start = start
        p = start
    }

    var count: Int { p - start }

    @inline(__always) mutating func byte(_ b: UInt8) {
        p.pointee = b
        p += 1
    }

    @inline(__always) mutating func put(_ s: StaticString) {
        s.withUTF8Buffer { buffer in
            for b in buffer { byte(b) }
        }
    }

    mutating func put(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        UnsafeMutableRawPointer(p).copyMemory(from: source, byteCount: bytes.count)
        p += bytes.count
    }

    mutating func decimal(_ v: UInt64) {
        if v < 10 { byte(0x30 + UInt8(v)); return }
        var digits = 0, n = v
        while n > 0 { digits += 1; n /= 10 }
        n = v
        for i in stride(from: digits - 1, through: 0, by: -1) {
            p[i] = 0x30 + UInt8(n % 10)
            n /= 10
        }
        p += digits
    }

    mutating func hex(_ v: UInt64) {
        if v == 0 { byte(0x30); return }
        var shift = (63 - v.leadingZeroBitCount) & ~3
        while shift >= 0 {
            let d = UInt8(truncatingIfNeeded: v >> UInt64(shift)) & 0xf
            byte(d < 10 ? 0x30 + d : 0x57 + d)
            shift -= 4
        }
    }

    /// Microseconds since the epoch as seconds with six decimals.
    mutating func seconds(microseconds us: UInt64) {
        decimal(us / 1_000_000)
        byte(0x2e)
        var fraction = us % 1_000_000
        for i in stride(from: 5, through: 0, by: -1) {
            p[i] = 0x30 + UInt8(fraction % 10)
            fraction /= 10
        }
        p += 6
    }

    /// Ends the line: a tab, the CRC-32 of everything since `start` in hex, a newline.
    mutating func frame() {
        let crc = CRC32.checksum(UnsafeRawBufferPointer(start: start, count: count))
        byte(0x09)
        for shift in stride(from: 28, through: 0, by: -4) {
            let d = UInt8(truncatingIfNeeded: crc >> UInt32(shift)) & 0xf
            byte(d < 10 ? 0x30 + d : 0x57 + d)
        }
        byte(0x0a)
    }
}
