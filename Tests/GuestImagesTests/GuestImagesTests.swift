import GuestImages
import Testing

/// Just enough ELF64 to check what a Xen domain builder reads: header, program headers, notes.
/// (The engine has its own loader; GuestImages deliberately exports none.)
struct ELF64 {
    struct Segment {
        let type: UInt32, flags: UInt32, offset: UInt64, vaddr: UInt64, paddr: UInt64, fileSize: UInt64, memorySize: UInt64
    }
    struct Note {
        let name: String, type: UInt32, desc: [UInt8]
        var string: String { String(decoding: desc.prefix { $0 != 0 }, as: UTF8.self) }
        var u64: UInt64? { desc.count == 8 ? ELF64.read(desc, 0, 8) : nil }
    }
    static let ptLoad: UInt32 = 1
    static let ptNote: UInt32 = 4
    static let pfWrite: UInt32 = 2

    let type: UInt16, machine: UInt16, entry: UInt64
    let segments: [Segment]
    let notes: [Note]

    init?(_ bytes: [UInt8]) {
        guard bytes.count >= 64, bytes[0..<4] == [0x7f, 0x45, 0x4c, 0x46], bytes[4] == 2, bytes[5] == 1 else { return nil }
        type = UInt16(Self.read(bytes, 16, 2))
        machine = UInt16(Self.read(bytes, 18, 2))
        entry = Self.read(bytes, 24, 8)
        let phoff = Int(Self.read(bytes, 32, 8)), phentsize = Int(Self.read(bytes, 54, 2)), phnum = Int(Self.read(bytes, 56, 2))
        guard phentsize == 56, phoff + phnum * phentsize <= bytes.count else { return nil }
        segments = (0..<phnum).map { i in
            let p = phoff + i * phentsize
            return Segment(
                type: UInt32(Self.read(bytes, p, 4)), flags: UInt32(Self.read(bytes, p + 4, 4)), offset: Self.read(bytes, p + 8, 8),
                vaddr: Self.read(bytes, p + 16, 8), paddr: Self.read(bytes, p + 24, 8),
                fileSize: Self.read(bytes, p + 32, 8), memorySize: Self.read(bytes, p + 40, 8))
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

    func xenNote(_ type: UInt32) -> Note? { notes.first { $0.name == "Xen" && $0.type == type } }
    func xkvNote(_ type: UInt32) -> Note? { notes.first { $0.name == "XKV" && $0.type == type } }

    static func read(_ bytes: [UInt8], _ offset: Int, _ size: Int) -> UInt64 {
        (0..<size).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }
}

/// XEN_ELFNOTE_* numbers from XEN-ABI.md.
enum XenNote {
    static let entry: UInt32 = 1, hypercallPage: UInt32 = 2, virtBase: UInt32 = 3, paddrOffset: UInt32 = 4
    static let xenVersion: UInt32 = 5, guestOS: UInt32 = 6, loader: UInt32 = 8, paeMode: UInt32 = 9
}

/// xkv's own note and report page (Kernels/common/xkv-report.h).
enum XKVReport {
    static let notePage: UInt32 = 1
    static let magic: UInt64 = 0x5256_4b58, version: UInt64 = 1
}

@Suite struct BuiltinImages {
    @Test func pv64IsListedAndNonEmpty() throws {
        #expect(GuestImage.builtinNames.contains("pv64"))
        let image = try GuestImage.builtin(named: "pv64")
        #expect(image.name == "pv64")
        #expect(!image.bytes.isEmpty)
        #expect(!image.summary.isEmpty)
    }

    @Test func everyListedNameLoads() throws {
        for name in GuestImage.builtinNames {
            #expect(try GuestImage.builtin(named: name).name == name)
        }
    }

    @Test func unknownNameThrowsListingAvailableImages() {
        let error = #expect(throws: GuestImageError.self) { try GuestImage.builtin(named: "foo") }
        guard case .unknown(let name, let available)? = error else { return }
        #expect(name == "foo")
        #expect(available == GuestImage.builtinNames)
        #expect(error?.description == "unknown guest image 'builtin:foo'; available: "
            + GuestImage.builtinNames.map { "builtin:\($0)" }.joined(separator: ", "))
        #expect(error?.description.contains("builtin:pv64") == true)
    }
}

@Suite struct PV64Image {
    let elf: ELF64

    init() throws {
        elf = try #require(ELF64(try GuestImage.builtin(named: "pv64").bytes))
    }

    @Test func isStaticX86_64Executable() {
        #expect(elf.type == 2)  // ET_EXEC
        #expect(elf.machine == 62)  // EM_X86_64
    }

    @Test func carriesXenIdentityNotes() {
        #expect(elf.xenNote(XenNote.guestOS)?.string == "xkv-pv64")
        #expect(elf.xenNote(XenNote.xenVersion)?.string == "xen-3.0")
        #expect(elf.xenNote(XenNote.loader)?.string == "generic")
        #expect(elf.xenNote(XenNote.paeMode)?.string == "yes")
    }

    @Test func layoutNotesMatchTheSegments() throws {
        let virtBase = try #require(elf.xenNote(XenNote.virtBase)?.u64)
        #expect(virtBase == 0xffff_ffff_8000_0000)
        #expect(elf.xenNote(XenNote.paddrOffset)?.u64 == 0)
        let loads = elf.segments.filter { $0.type == ELF64.ptLoad }
        #expect(loads.first?.paddr == 0)
        for segment in loads {
            #expect(segment.vaddr == segment.paddr &+ virtBase)
        }
        let entry = try #require(elf.xenNote(XenNote.entry)?.u64)
        #expect(entry == elf.entry)
        #expect(loads.contains { $0.vaddr <= entry && entry < $0.vaddr + $0.fileSize })
    }

    @Test func hypercallPageIsAPageInsideTheImage() throws {
        let page = try #require(elf.xenNote(XenNote.hypercallPage)?.u64)
        #expect(page % 4096 == 0)
        #expect(elf.segments.contains { $0.type == ELF64.ptLoad && $0.vaddr <= page && page + 4096 <= $0.vaddr + $0.fileSize })
    }

    /// The report page xkv reads: named by an "XKV" note (type 1 is Xen's ENTRY, so the name
    /// matters), a whole writable page of a loaded segment, valid from the start (magic and
    /// version are in the file, not left to the kernel to write).
    @Test func reportNoteNamesAWritablePageInsideTheImage() throws {
        let note = try #require(elf.xkvNote(XKVReport.notePage))
        #expect(note.desc.count == 8)
        let page = try #require(note.u64)
        #expect(page % 4096 == 0)
        let segment = try #require(elf.segments.first {
            $0.type == ELF64.ptLoad && $0.vaddr <= page && page + 4096 <= $0.vaddr + $0.memorySize
        })
        #expect(segment.flags & ELF64.pfWrite != 0)
        #expect(page != elf.xenNote(XenNote.hypercallPage)?.u64)
        #expect(elf.xenNote(XenNote.entry)?.u64 == elf.entry)

        let bytes = try GuestImage.builtin(named: "pv64").bytes
        let offset = Int(segment.offset + (page - segment.vaddr))
        #expect(page + 16 <= segment.vaddr + segment.fileSize)
        #expect(ELF64.read(bytes, offset, 8) == XKVReport.magic)
        #expect(ELF64.read(bytes, offset + 8, 8) == XKVReport.version)
        #expect(ELF64.read(bytes, offset + 72, 8) == 0)  // done: nothing has run yet
    }
}

@Suite struct ContentHash {
    private func sha256(_ text: String) -> String {
        GuestImage(name: "test", bytes: Array(text.utf8), summary: "").sha256Hex
    }

    @Test func matchesFIPS180Vectors() {
        #expect(sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // 56 bytes: the length no longer fits in the first block's padding.
        #expect(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func spansManyBlocks() {
        #expect(sha256(String(repeating: "a", count: 1000))
            == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test func builtinHashIsStable() throws {
        let a = try GuestImage.builtin(named: "pv64").sha256Hex
        let b = try GuestImage.builtin(named: "pv64").sha256Hex
        #expect(a == b)
        #expect(a.count == 64)
    }
}
