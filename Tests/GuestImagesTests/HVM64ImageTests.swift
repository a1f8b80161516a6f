import GuestImages
import Testing

/// The 64-bit HVM test kernel as xkv's HVM builder sees it: an ELF64 executable loaded by
/// physical address at 1 MiB and up (p_vaddr == p_paddr), entered at e_entry in long mode, with
/// xkv's report-page note and no Xen notes (it is not a PV kernel). Uses `ELF64` from
/// GuestImagesTests.swift. The kernel itself needs VT-x/AMD-V to run, so only its image is
/// checked here.
@Suite struct HVM64Image {
    static let loadBase: UInt64 = 0x10_0000
    static let pfExecute: UInt32 = 1, pfWrite: UInt32 = 2

    let image: GuestImage
    let elf: ELF64

    init() throws {
        image = try GuestImage.builtin(named: "hvm64")
        elf = try #require(ELF64(image.bytes))
    }

    private var loads: [ELF64.Segment] { elf.segments.filter { $0.type == ELF64.ptLoad } }

    /// The file bytes at physical (= virtual) address `address`, nil outside every segment's file image.
    private func fileBytes(at address: UInt64, count: Int) -> [UInt8]? {
        guard let s = loads.first(where: { $0.vaddr <= address && address + UInt64(count) <= $0.vaddr + $0.fileSize })
        else { return nil }
        let start = Int(s.offset + (address - s.vaddr))
        return Array(image.bytes[start..<start + count])
    }

    @Test func isListedWithASummary() {
        #expect(GuestImage.builtinNames.contains("hvm64"))
        #expect(image.name == "hvm64")
        #expect(image.summary.contains("HVM"))
    }

    @Test func isStaticX86_64Executable() {
        #expect(image.bytes[4] == 2)  // ELFCLASS64
        #expect(elf.type == 2)  // ET_EXEC
        #expect(elf.machine == 62)  // EM_X86_64
    }

    @Test func loadsAtOneMiBByPhysicalAddress() throws {
        #expect(!loads.isEmpty)
        #expect(loads.first?.vaddr == Self.loadBase)
        for segment in loads {
            // Below 1 MiB is the builder's: boot parameters, command line, its tables, SMBIOS.
            #expect(segment.vaddr >= Self.loadBase)
            #expect(segment.vaddr == segment.paddr)
            #expect(segment.vaddr % 4096 == 0 && segment.offset % 4096 == 0)
            #expect(segment.fileSize <= segment.memorySize)
            // Nothing both writable and executable.
            #expect(segment.flags & (Self.pfWrite | Self.pfExecute) != (Self.pfWrite | Self.pfExecute))
        }
        // Segments in address order, not overlapping; the whole image fits a 2 MiB domain.
        for (a, b) in zip(loads, loads.dropFirst()) {
            #expect(a.vaddr + a.memorySize <= b.vaddr)
        }
        let end = try #require(loads.map { $0.vaddr + $0.memorySize }.max())
        #expect(end <= 0x20_0000)
    }

    @Test func entryIsInsideAnExecutableSegment() throws {
        #expect(elf.entry == Self.loadBase)
        #expect(loads.contains { $0.vaddr <= elf.entry && elf.entry < $0.vaddr + $0.fileSize && $0.flags & Self.pfExecute != 0 })
        // cld; movq %rdi, %rdx: the boot-parameters pointer is kept while .bss is cleared.
        #expect(fileBytes(at: elf.entry, count: 4) == [0xfc, 0x48, 0x89, 0xfa])
    }

    @Test func carriesNoXenNotes() {
        // A Xen note would make it look like a PV kernel to a builder that sniffs notes.
        #expect(!elf.notes.contains { $0.name == "Xen" })
        #expect(elf.notes.contains { $0.name == "XKV" })
    }

    /// Kernels/common/xkv-report.h: a whole writable page of a loaded segment, valid from the
    /// start (magic and version in the file), nothing done yet, and no hypercalls ever.
    @Test func reportNoteNamesAWritablePageInsideTheImage() throws {
        let note = try #require(elf.xkvNote(XKVReport.notePage))
        #expect(note.desc.count == 8)
        let page = try #require(note.u64)
        #expect(page % 4096 == 0)
        let segment = try #require(loads.first { $0.vaddr <= page && page + 4096 <= $0.vaddr + $0.memorySize })
        #expect(segment.flags & ELF64.pfWrite != 0)
        #expect(page + 80 <= segment.vaddr + segment.fileSize)
        let header = try #require(fileBytes(at: page, count: 80))
        #expect(ELF64.read(header, 0, 8) == XKVReport.magic)
        #expect(ELF64.read(header, 8, 8) == XKVReport.version)
        for offset in stride(from: 16, to: 80, by: 8) {
            #expect(ELF64.read(header, offset, 8) == 0, "field at \(offset)")
        }
    }

    @Test func printsTheBootBanner() {
        let banner = Array("xkv-hvm64: booting (ring 0, own IDT and LSTAR)".utf8)
        let bytes = image.bytes
        let found = bytes.count >= banner.count
            && (0...(bytes.count - banner.count)).contains { i in bytes[i] == banner[0] && Array(bytes[i..<i + banner.count]) == banner }
        #expect(found)
    }

    @Test func hashIsStableAndDistinctFromThePVKernels() throws {
        #expect(image.sha256Hex == (try GuestImage.builtin(named: "hvm64")).sha256Hex)
        #expect(image.sha256Hex != (try GuestImage.builtin(named: "pv64")).sha256Hex)
    }
}
