import GuestImages
import Testing

/// Just enough ELF32 to check what a Xen domain builder reads from a 32-bit PV kernel: header,
/// program headers, notes (any owner), and the bytes behind a virtual address.
struct ELF32 {
    struct Segment {
        let type: UInt32, offset: UInt32, vaddr: UInt32, paddr: UInt32, fileSize: UInt32, memorySize: UInt32, flags: UInt32
    }
    struct Note {
        let name: String, type: UInt32, desc: [UInt8]
        var string: String { String(decoding: desc.prefix { $0 != 0 }, as: UTF8.self) }
        /// Xen reads address-valued notes as 4 or 8 bytes; a 32-bit kernel should give 4.
        var u32: UInt32? { desc.count == 4 ? UInt32(ELF32.read(desc, 0, 4)) : nil }
    }
    static let ptLoad: UInt32 = 1
    static let ptNote: UInt32 = 4

    let bytes: [UInt8]
    let type: UInt16, machine: UInt16, entry: UInt32
    let segments: [Segment]
    let notes: [Note]

    init?(_ bytes: [UInt8]) {
        guard bytes.count >= 52, bytes[0..<4] == [0x7f, 0x45, 0x4c, 0x46], bytes[4] == 1, bytes[5] == 1 else { return nil }
        self.bytes = bytes
        type = UInt16(Self.read(bytes, 16, 2))
        machine = UInt16(Self.read(bytes, 18, 2))
        entry = UInt32(Self.read(bytes, 24, 4))
        let phoff = Int(Self.read(bytes, 28, 4)), phentsize = Int(Self.read(bytes, 42, 2)), phnum = Int(Self.read(bytes, 44, 2))
        guard phentsize == 32, phoff + phnum * phentsize <= bytes.count else { return nil }
        segments = (0..<phnum).map { i in
            let p = phoff + i * phentsize
            func word(_ at: Int) -> UInt32 { UInt32(Self.read(bytes, p + at, 4)) }
            return Segment(type: word(0), offset: word(4), vaddr: word(8), paddr: word(12),
                           fileSize: word(16), memorySize: word(20), flags: word(24))
        }
        var notes: [Note] = []
        for segment in segments where segment.type == Self.ptNote {
            var at = Int(segment.offset)
            let end = at + Int(segment.fileSize)
            guard end <= bytes.count else { return nil }
            while at + 12 <= end {
                let nameSize = Int(Self.read(bytes, at, 4)), descSize = Int(Self.read(bytes, at + 4, 4))
                let nameStart = at + 12, descStart = nameStart + (nameSize + 3) & ~3
                guard descStart + descSize <= end else { return nil }
                notes.append(Note(
                    name: String(decoding: bytes[nameStart..<nameStart + nameSize].prefix { $0 != 0 }, as: UTF8.self),
                    type: UInt32(Self.read(bytes, at + 8, 4)),
                    desc: Array(bytes[descStart..<descStart + descSize])))
                at = descStart + (descSize + 3) & ~3
            }
        }
        self.notes = notes
    }

    func note(_ owner: String, _ type: UInt32) -> Note? { notes.first { $0.name == owner && $0.type == type } }
    var loads: [Segment] { segments.filter { $0.type == Self.ptLoad } }

    /// The file bytes at virtual address `va` (nil outside every segment's file image).
    func fileBytes(at va: UInt32, count: Int) -> [UInt8]? {
        guard let s = loads.first(where: { $0.vaddr <= va && UInt64(va) + UInt64(count) <= UInt64($0.vaddr) + UInt64($0.fileSize) })
        else { return nil }
        let start = Int(s.offset + (va - s.vaddr))
        return Array(bytes[start..<start + count])
    }

    static func read(_ bytes: [UInt8], _ offset: Int, _ size: Int) -> UInt64 {
        (0..<size).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }
}

/// The 32-bit PV kernel as Xen's builder sees it: XEN-ABI.md, "PV boot ABI", for a compat guest.
@Suite struct PV32Image {
    /// XEN_ELFNOTE_* numbers from XEN-ABI.md.
    static let entry: UInt32 = 1, hypercallPage: UInt32 = 2, virtBase: UInt32 = 3, paddrOffset: UInt32 = 4
    static let xenVersion: UInt32 = 5, guestOS: UInt32 = 6, loader: UInt32 = 8, paeMode: UInt32 = 9

    let image: GuestImage
    let elf: ELF32

    init() throws {
        image = try GuestImage.builtin(named: "pv32")
        elf = try #require(ELF32(image.bytes))
    }

    @Test func isListedWithASummary() {
        #expect(GuestImage.builtinNames.contains("pv32"))
        #expect(image.name == "pv32")
        #expect(image.summary.contains("32-bit"))
    }

    @Test func isStaticI386Executable() {
        #expect(elf.type == 2)  // ET_EXEC
        #expect(elf.machine == 3)  // EM_386
    }

    @Test func carriesXenIdentityNotes() {
        #expect(elf.note("Xen", Self.guestOS)?.string == "xkv-pv32")
        #expect(elf.note("Xen", Self.xenVersion)?.string == "xen-3.0")
        #expect(elf.note("Xen", Self.loader)?.string == "generic")
        // A 32-bit PV guest on 64-bit Xen keeps PAE page tables.
        #expect(elf.note("Xen", Self.paeMode)?.string == "yes")
    }

    @Test func addressNotesAreFourBytes() {
        for type in [Self.entry, Self.hypercallPage, Self.virtBase, Self.paddrOffset] {
            #expect(elf.note("Xen", type)?.desc.count == 4, "note \(type)")
        }
    }

    @Test func layoutNotesMatchTheSegments() throws {
        let virtBase = try #require(elf.note("Xen", Self.virtBase)?.u32)
        #expect(virtBase == 0xc000_0000)
        #expect(elf.note("Xen", Self.paddrOffset)?.u32 == 0)
        #expect(elf.loads.first?.paddr == 0)
        for segment in elf.loads {
            #expect(segment.vaddr == segment.paddr &+ virtBase)
            // Everything must fit below the compat M2P at 0xf5800000, Xen's area in a 32-bit guest.
            #expect(UInt64(segment.vaddr) + UInt64(segment.memorySize) <= 0xf580_0000)
        }
        let entry = try #require(elf.note("Xen", Self.entry)?.u32)
        #expect(entry == elf.entry)
        #expect(elf.loads.contains { $0.vaddr <= entry && entry < $0.vaddr + $0.fileSize && $0.flags & 1 != 0 })
    }

    @Test func hypercallPageIsAnInt3FilledExecutablePage() throws {
        let page = try #require(elf.note("Xen", Self.hypercallPage)?.u32)
        #expect(page % 4096 == 0)
        #expect(elf.loads.contains { $0.vaddr <= page && page + 4096 <= $0.vaddr + $0.fileSize && $0.flags & 1 != 0 })
        // The builder overwrites it; until then a call into it traps instead of running on.
        #expect(elf.fileBytes(at: page, count: 4096) == [UInt8](repeating: 0xcc, count: 4096))
    }

    @Test func reportPageNoteNamesAPageInsideTheImage() throws {
        // Kernels/common/xkv-report.h: the page's VA as a little-endian u64 (xkv also takes a u32).
        let note = try #require(elf.note("XKV", 1))
        #expect(note.desc.count == 8 || note.desc.count == 4)
        let value = ELF32.read(note.desc, 0, note.desc.count)
        let page = try #require(UInt32(exactly: value))
        #expect(page % 4096 == 0)
        #expect(elf.loads.contains { $0.vaddr <= page && UInt64(page) + 4096 <= UInt64($0.vaddr) + UInt64($0.memorySize) && $0.flags & 2 != 0 })
    }

    @Test func bootStartsWithItsOwnStack() throws {
        // cld; movl $imm32, %esp: the kernel leaves the builder's one-page boot stack first.
        let code = try #require(elf.fileBytes(at: elf.entry, count: 2))
        #expect(code == [0xfc, 0xbc])
    }

    @Test func hashIsStableAndDistinctFromPV64() throws {
        #expect(image.sha256Hex == (try GuestImage.builtin(named: "pv32")).sha256Hex)
        #expect(image.sha256Hex != (try GuestImage.builtin(named: "pv64")).sha256Hex)
    }
}
