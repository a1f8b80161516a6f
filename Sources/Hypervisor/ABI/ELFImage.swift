/// Why a kernel image was refused.
public struct ImageError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A 64-bit x86 ELF kernel image: its loadable segments and its Xen ELF notes.
/// Every offset and size is checked against the file before use.
public struct ELFImage: Sendable {
    public struct Segment: Sendable {
        public let virtualAddress: UInt64
        public let physicalAddress: UInt64
        public let fileOffset: UInt64
        public let fileSize: UInt64
        public let memorySize: UInt64
    }

    public let bytes: [UInt8]
    public let entry: UInt64
    public let segments: [Segment]
    /// Xen ELF notes by type (`XEN_ELFNOTE_*`), raw descriptor bytes.
    public let xenNotes: [UInt32: [UInt8]]
    /// xkv's own notes (name "XKV"): type 1 is the guest's report page.
    public let xkvNotes: [UInt32: [UInt8]]

    /// True for an ELF32 i386 image (a 32-bit PV kernel), false for ELF64 x86-64.
    public let is32Bit: Bool

    public init(_ bytes: [UInt8]) throws(ImageError) {
        self.bytes = bytes
        guard bytes.count >= 52, bytes[0..<4] == [0x7f, 0x45, 0x4c, 0x46] else { throw ImageError("not an ELF file") }
        guard bytes[4] == 1 || bytes[4] == 2 else { throw ImageError("unknown ELF class \(bytes[4])") }
        guard bytes[5] == 1 else { throw ImageError("not a little-endian ELF") }
        let wide = bytes[4] == 2
        is32Bit = !wide
        let reader = ByteReader(bytes)
        let machine = try reader.u16(18)
        guard machine == (wide ? 62 : 3) else {
            throw ImageError("not an \(wide ? "x86-64" : "i386") ELF (machine \(machine))")
        }
        // ELF64 and ELF32 differ in field widths and offsets; read each through one table.
        func word(_ offset: UInt64) throws(ImageError) -> UInt64 { wide ? try reader.u64(offset) : UInt64(try reader.u32(offset)) }
        entry = try word(24)
        let phoff = try word(wide ? 32 : 28)
        let phentsize = UInt64(try reader.u16(wide ? 54 : 42))
        let phnum = UInt64(try reader.u16(wide ? 56 : 44))
        guard phentsize >= (wide ? 56 : 32), phnum <= 256 else { throw ImageError("bad program header table") }
        var segments: [Segment] = []
        var notes: [UInt32: [UInt8]] = [:]
        var xkv: [UInt32: [UInt8]] = [:]
        for i in 0..<phnum {
            let (base, overflow) = phoff.addingReportingOverflow(i * phentsize)
            guard !overflow else { throw ImageError("program header \(i) out of the file") }
            let type = try reader.u32(base)
            let offset = try word(base + (wide ? 8 : 4))
            let fileSize = try word(base + (wide ? 32 : 16))
            guard offset <= UInt64(bytes.count), fileSize <= UInt64(bytes.count) - offset else {
                throw ImageError("segment \(i) lies outside the file")
            }
            switch type {
            case 1: // PT_LOAD
                let memorySize = try word(base + (wide ? 40 : 20))
                guard memorySize >= fileSize else { throw ImageError("segment \(i): memory size below file size") }
                segments.append(Segment(virtualAddress: try word(base + (wide ? 16 : 8)), physicalAddress: try word(base + (wide ? 24 : 12)),
                                        fileOffset: offset, fileSize: fileSize, memorySize: memorySize))
            case 4: // PT_NOTE
                try ELFImage.readNotes(reader, from: offset, size: fileSize, xen: &notes, xkv: &xkv)
            default:
                break
            }
        }
        guard !segments.isEmpty else { throw ImageError("no loadable segments") }
        self.segments = segments
        self.xenNotes = notes
        self.xkvNotes = xkv
    }

    private static func readNotes(_ r: ByteReader, from start: UInt64, size: UInt64, xen notes: inout [UInt32: [UInt8]],
                                  xkv: inout [UInt32: [UInt8]]) throws(ImageError) {
        var at = start
        let end = start + size
        while at + 12 <= end {
            let nameSize = UInt64(try r.u32(at)), descSize = UInt64(try r.u32(at + 4)), type = try r.u32(at + 8)
            let name = at + 12
            let desc = name + ((nameSize + 3) & ~3)
            let next = desc + ((descSize + 3) & ~3)
            guard nameSize < 64, descSize < 4096, next <= end else { throw ImageError("malformed ELF note") }
            let noteName = try r.bytes(name, Int(nameSize)).prefix { $0 != 0 }
            if Array(noteName) == Array("Xen".utf8) { notes[type] = try r.bytes(desc, Int(descSize)) }
            if Array(noteName) == Array("XKV".utf8) { xkv[type] = try r.bytes(desc, Int(descSize)) }
            at = next
        }
    }

    /// A note's value as a string (NUL-terminated text notes).
    public func noteString(_ type: XenNote) -> String? {
        xenNotes[type.rawValue].map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// The guest's report page (xkv note type 1), a virtual address.
    public var reportPage: UInt64? {
        guard let d = xkvNotes[1], d.count == 8 || d.count == 4 else { return nil }
        return d.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// A note's value as an integer (4- or 8-byte notes).
    public func noteInteger(_ type: XenNote) -> UInt64? {
        guard let d = xenNotes[type.rawValue] else { return nil }
        if d.count == 8 || d.count == 4 { return d.reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        return nil
    }
}

/// `XEN_ELFNOTE_*` types (`public/elfnote.h`).
public enum XenNote: UInt32, Sendable {
    case entry = 1, hypercallPage = 2, virtBase = 3, paddrOffset = 4, xenVersion = 5, guestOS = 6
    case guestVersion = 7, loader = 8, paeMode = 9, features = 10, bspOnly = 11, suspendCancel = 14
    case phys32Entry = 18
}

/// Bounds-checked little-endian reads from a byte array.
struct ByteReader {
    let data: [UInt8]
    init(_ data: [UInt8]) { self.data = data }

    func bytes(_ offset: UInt64, _ count: Int) throws(ImageError) -> [UInt8] {
        guard offset <= UInt64(data.count), UInt64(count) <= UInt64(data.count) - offset else {
            throw ImageError("read past the end of the image at \(offset)")
        }
        return Array(data[Int(offset)..<Int(offset) + count])
    }
    func u16(_ o: UInt64) throws(ImageError) -> UInt16 { let b = try bytes(o, 2); return UInt16(b[0]) | UInt16(b[1]) << 8 }
    func u32(_ o: UInt64) throws(ImageError) -> UInt32 { try bytes(o, 4).reversed().reduce(0) { $0 << 8 | UInt32($1) } }
    func u64(_ o: UInt64) throws(ImageError) -> UInt64 { try bytes(o, 8).reversed().reduce(0) { $0 << 8 | UInt64($1) } }
}
