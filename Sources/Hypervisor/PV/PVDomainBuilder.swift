import GuestImages
import KVM

/// Where the builder put things, for the vCPU's initial state and for `start_info` readers.
public struct PVBootLayout: Sendable {
    public var virtBase: UInt64
    public var entry: UInt64
    public var hypercallPage: UInt64?
    public var startInfo: UInt64
    public var p2m: UInt64
    public var xenstoreMFN: UInt64
    public var consoleMFN: UInt64
    public var sharedInfoMFN: UInt64
    public var pageTableBase: UInt64     // VA of the L4
    public var rootTableMFN: UInt64      // the L4's frame
    public var pageTableFrames: UInt64
    public var stackTop: UInt64
    public var mappedEnd: UInt64
    public var guestOS: String
    /// Guest-physical address of the guest's report page (`GuestReport`), if it has one.
    public var reportPage: UInt64?
}

/// Builds a 64-bit PV domain the way Xen's domain builder (libxenguest `xc_dom_*`) does: loads the
/// ELF kernel by its Xen notes, lays out P2M, start_info, xenstore and console pages, page tables
/// and boot stack after it, maps all of that, and maps xkv's ring-0 pages into the hole.
struct PVDomainBuilder {
    static let xenstoreEvtchn: UInt32 = 1
    static let consoleEvtchn: UInt32 = 2

    let image: ELFImage
    let memory: PVMemory
    let cmdline: String
    /// Private-frame indexes.
    enum Private {
        static let holeL3: UInt64 = 0, holeL2: UInt64 = 1, holeL1: UInt64 = 2
        static let holePages: UInt64 = 3            // HypervisorHole.Page.count frames
        static var sharedInfo: UInt64 { holePages + UInt64(HypervisorHole.Page.count) }
        static var grantFrames: UInt64 { sharedInfo + 1 }
        static let grantFrameCount: UInt64 = 4
        static var m2pL3: UInt64 { grantFrames + grantFrameCount }
        static var m2pL2: UInt64 { m2pL3 + 1 }
        static var m2pL1s: UInt64 { m2pL2 + 1 }
    }

    /// Private frames a domain of `nrPages` needs.
    static func privateFrameCount(nrPages: UInt64) -> UInt64 {
        let direct = directMapLayout(nrPages: nrPages)
        return direct.l3 + 1 + direct.l2s
    }

    /// The direct map's L3 frame index and L2 count (2 MiB pages), after the M2P's frames.
    static func directMapLayout(nrPages: UInt64) -> (l3: UInt64, l2s: UInt64) {
        let m2p = m2pLayout(nrPages: nrPages)
        let largePages = (nrPages + 511) / 512
        return (Private.m2pL1s + m2p.l1s + m2p.pages, (largePages + 511) / 512)
    }

    static func m2pLayout(nrPages: UInt64) -> (l1s: UInt64, pages: UInt64) {
        let pages = (nrPages * 8 + 4095) / 4096
        return ((pages + 511) / 512, pages)
    }

    func build() throws(DomainError) -> PVBootLayout {
        let phys = memory.physical
        // Xen ELF notes: a PV kernel must carry them (Xen refuses plain ELF files too).
        guard !image.xenNotes.isEmpty else {
            throw .badImage("not a Xen PV kernel: it has no Xen ELF notes (PT_NOTE with name \"Xen\")")
        }
        if let loader = image.noteString(.loader), loader != "generic" {
            throw .badImage("kernel asks for loader '\(loader)'; xkv's builder is 'generic'")
        }
        let virtBase = image.noteInteger(.virtBase) ?? 0
        let paddrOffset = image.noteInteger(.paddrOffset) ?? (image.xenNotes[XenNote.virtBase.rawValue] == nil ? 0 : virtBase)
        let virtOffset = virtBase &- paddrOffset
        let entry = image.noteInteger(.entry) ?? image.entry
        let hypercallPage = image.noteInteger(.hypercallPage)

        // Load the segments at p_paddr + virt_offset, pfn = (va - virt_base) >> 12.
        var kernelEnd = virtBase
        for segment in image.segments where segment.memorySize > 0 {
            let va = segment.physicalAddress &+ virtOffset
            guard va >= virtBase, va &+ segment.memorySize >= va else {
                throw .badImage("segment at \(va.hex) lies below virt_base \(virtBase.hex)")
            }
            let gpa = va - virtBase
            guard gpa < memory.nrPages * 4096, segment.memorySize <= memory.nrPages * 4096 - gpa else {
                throw .tooLittleMemory("the kernel needs \((gpa + segment.memorySize) >> 20) MiB just to load")
            }
            do {
                try phys.fill(gpa, count: Int(segment.memorySize), with: 0)
                let start = Int(segment.fileOffset)
                try phys.write(Array(image.bytes[start..<start + Int(segment.fileSize)]), at: gpa)
            } catch { throw .badImage("cannot load segment: \(error)") }
            kernelEnd = max(kernelEnd, va + segment.memorySize)
        }
        guard entry >= virtBase, entry < kernelEnd else { throw .badImage("entry \(entry.hex) is outside the kernel") }

        // Layout after the kernel, as xc_dom_build_image: P2M, start_info, xenstore, console, tables, stack.
        // Like Xen's builder (xc_dom_chk_alloc_pages), each end is checked against the domain's memory as
        // it is computed: a virt_base near the top of the address space is refused, never wrapped around.
        let nr = memory.nrPages
        let (ramEnd, ramWraps) = virtBase.addingReportingOverflow(nr * 4096)
        func checked(_ end: (partialValue: UInt64, overflow: Bool)) throws(DomainError) -> UInt64 {
            guard !end.overflow else {
                throw .badImage("virt_base \(virtBase.hex) leaves no room for the boot layout below the top of the address space")
            }
            guard ramWraps || end.partialValue <= ramEnd else {
                throw .tooLittleMemory("the kernel's initial mapping needs \((end.partialValue - virtBase) >> 20) MiB; give the domain more memory")
            }
            return end.partialValue
        }
        var next = try checked(Self.roundUp(kernelEnd, to: 4096))
        func allocate(_ bytes: UInt64) throws(DomainError) -> UInt64 {
            let start = next
            next = try checked(next.addingReportingOverflow((bytes + 4095) & ~4095))
            return start
        }
        let p2m = try allocate(nr * 8)
        let startInfo = try allocate(4096)
        let xenstore = try allocate(4096)
        let console = try allocate(4096)
        let tablesStart = next
        // Count the tables needed to map [virtBase, end) where end depends on the count itself.
        var tableCount: UInt64 = 0
        var mappedEnd: UInt64 = 0
        while true {
            let stackEnd = try checked(tablesStart.addingReportingOverflow(tableCount * 4096 + 4096))
            let (withSlack, slackWraps) = stackEnd.addingReportingOverflow(512 * 1024)
            let rounded = Self.roundUp(withSlack, to: 0x40_0000)
            mappedEnd = try checked((rounded.partialValue, slackWraps || rounded.overflow))
            let needed = Self.tablesToMap(from: virtBase, to: mappedEnd)
            if needed <= tableCount { break }
            tableCount = needed
        }
        next = tablesStart + tableCount * 4096
        let stack = try allocate(4096)
        let pfn = { (va: UInt64) -> UInt64 in (va - virtBase) >> 12 }

        do {
            try buildPageTables(virtBase: virtBase, mappedEnd: mappedEnd, tablesStart: tablesStart, tableCount: tableCount)
            // P2M (identity: each domain owns its VM, so pfn == mfn) and the M2P.
            for i in 0..<nr { try phys.store(i, at: pfn(p2m) * 4096 + i * 8) }
            let m2p = Self.m2pLayout(nrPages: nr)
            let m2pData = memory.privateFrame(Private.m2pL1s + m2p.l1s)
            for i in 0..<nr { try phys.store(i, at: m2pData + i * 8) }
            try HypervisorHole.populate(phys) { memory.privateFrame(Private.holePages + UInt64($0)) }
            if let hypercallPage {
                guard hypercallPage >= virtBase, hypercallPage < kernelEnd, hypercallPage & 0xfff == 0 else {
                    throw DomainError.badImage("hypercall page \(hypercallPage.hex) is not a page inside the kernel")
                }
                try writeHypercallPage(at: pfn(hypercallPage) * 4096)
            }
            // shared_info: every vcpu_info.evtchn_upcall_mask starts at 1.
            let sharedInfo = memory.privateFrame(Private.sharedInfo)
            for v in 0..<SharedInfo64.maxVCPUs {
                try phys.store(UInt8(1), at: sharedInfo + UInt64(v * SharedInfo64.vcpuInfoSize + SharedInfo64.upcallMask))
            }
            memory.allowMapping(sharedInfo / 4096)
            try writeStartInfo(at: pfn(startInfo) * 4096, sharedInfo: sharedInfo, xenstoreMFN: pfn(xenstore),
                               consoleMFN: pfn(console), ptBase: tablesStart, ptFrames: tableCount, p2m: p2m)
        } catch let error as DomainError {
            throw error
        } catch {
            throw .badImage("building the domain failed: \(error)")
        }
        return PVBootLayout(virtBase: virtBase, entry: entry, hypercallPage: hypercallPage, startInfo: startInfo, p2m: p2m,
                            xenstoreMFN: pfn(xenstore), consoleMFN: pfn(console), sharedInfoMFN: memory.privateFrame(Private.sharedInfo) / 4096,
                            pageTableBase: tablesStart, rootTableMFN: pfn(tablesStart), pageTableFrames: tableCount,
                            stackTop: stack + 4096, mappedEnd: mappedEnd, guestOS: image.noteString(.guestOS) ?? "unknown",
                            reportPage: image.reportPage.flatMap { va in
                                va >= virtBase && va < kernelEnd && va & 0xfff == 0 ? pfn(va) << 12 : nil
                            })
    }

    /// `value` rounded up to a multiple of `alignment` (a power of two), reporting a wrap past 2^64.
    static func roundUp(_ value: UInt64, to alignment: UInt64) -> (partialValue: UInt64, overflow: Bool) {
        let (sum, overflow) = value.addingReportingOverflow(alignment - 1)
        return (sum & ~(alignment - 1), overflow)
    }

    /// Page tables needed to map [from, to): one L4 plus one table per touched 512 GiB, 1 GiB, 2 MiB.
    static func tablesToMap(from: UInt64, to: UInt64) -> UInt64 {
        func spans(_ shift: UInt64) -> UInt64 { ((to - 1) >> shift) - (from >> shift) + 1 }
        return 1 + spans(39) + spans(30) + spans(21)
    }

    private func buildPageTables(virtBase: UInt64, mappedEnd: UInt64, tablesStart: UInt64, tableCount: UInt64) throws {
        let phys = memory.physical
        let upper = PTE.present | PTE.writable | PTE.accessed | PTE.dirty | PTE.user
        let leaf = PTE.present | PTE.writable | PTE.accessed | PTE.user
        var nextTable = (tablesStart - virtBase) >> 12
        let l4 = nextTable
        nextTable += 1
        memory.setLevel(4, of: l4)
        // Walks down from the L4, creating tables on demand in allocation order.
        func table(below parent: UInt64, index: UInt64, level: Int) throws -> UInt64 {
            let slot = parent * 4096 + index * 8
            let entry = try phys.load(UInt64.self, at: slot)
            if entry & PTE.present != 0 { return (entry & PTE.frameMask) >> 12 }
            let frame = nextTable
            nextTable += 1
            try phys.store(frame << 12 | upper, at: slot)
            memory.setLevel(level, of: frame)
            return frame
        }
        let firstTable = (tablesStart - virtBase) >> 12
        let lastTable = firstTable + tableCount
        var va = virtBase
        while va < mappedEnd {
            let l3 = try table(below: l4, index: (va >> 39) & 0x1ff, level: 3)
            let l2 = try table(below: l3, index: (va >> 30) & 0x1ff, level: 2)
            let l1 = try table(below: l2, index: (va >> 21) & 0x1ff, level: 1)
            let pfn = (va - virtBase) >> 12
            // Page-table pages are mapped read-only, as Xen requires of a PV guest.
            let flags = (pfn >= firstTable && pfn < lastTable) ? leaf & ~PTE.writable : leaf
            try phys.store(pfn << 12 | flags, at: l1 * 4096 + ((va >> 12) & 0x1ff) * 8)
            va += 4096
        }
        guard nextTable <= lastTable else { throw DomainError.badImage("page-table estimate too small") }
        try Self.installHole(memory: memory, inL4: l4)
    }

    /// Fills the hole slots of the guest L4 `l4` (a frame number): the M2P and xkv's pages.
    static func installHole(memory: PVMemory, inL4 l4: UInt64) throws {
        let phys = memory.physical
        let m2p = m2pLayout(nrPages: memory.nrPages)
        // The hole's L3/L2/L1 and the M2P's are private frames; built once, shared by every L4.
        let holeL3 = memory.privateFrame(Private.holeL3), holeL2 = memory.privateFrame(Private.holeL2)
        let holeL1 = memory.privateFrame(Private.holeL1)
        let table = PTE.present | PTE.writable | PTE.accessed | PTE.user
        try phys.store(holeL2 | table, at: holeL3)
        try phys.store(holeL1 | table, at: holeL2)
        for page in 0..<HypervisorHole.Page.count {
            let frame = memory.privateFrame(Private.holePages + UInt64(page))
            var flags = PTE.present | PTE.accessed | PTE.dirty | PTE.noExecute
            switch page {
            case HypervisorHole.Page.stubs:
                flags &= ~PTE.noExecute
            case HypervisorHole.Page.entry:
                // PVMCompensation.userVisibleSyscallEntry: on PVM `syscall` lands at LSTAR still at CPL 3,
                // so the entry page must be executable from ring 3 (read-only). Harmless on hardware.
                flags = (flags & ~PTE.noExecute) | PTE.user
            default:
                flags |= PTE.writable
            }
            try phys.store(frame | flags, at: holeL1 + UInt64(page) * 8)
        }
        let m2pL3 = memory.privateFrame(Private.m2pL3), m2pL2 = memory.privateFrame(Private.m2pL2)
        try phys.store(m2pL2 | PTE.present | PTE.accessed | PTE.user, at: m2pL3)
        let dataStart = Private.m2pL1s + m2p.l1s
        for i in 0..<m2p.l1s {
            let l1 = memory.privateFrame(Private.m2pL1s + i)
            try phys.store(l1 | PTE.present | PTE.accessed | PTE.user, at: m2pL2 + i * 8)
            for j in 0..<min(512, m2p.pages - i * 512) {
                let frame = memory.privateFrame(dataStart + i * 512 + j)
                try phys.store(frame | PTE.present | PTE.accessed | PTE.user | PTE.noExecute, at: l1 + j * 8)
            }
        }
        // The direct map: all guest RAM in 2 MiB pages, for xkv's ring-0 page-table writes.
        let direct = directMapLayout(nrPages: memory.nrPages)
        let directL3 = memory.privateFrame(direct.l3)
        let largePages = (memory.nrPages + 511) / 512
        for i in 0..<direct.l2s {
            let l2 = memory.privateFrame(direct.l3 + 1 + i)
            try phys.store(l2 | PTE.present | PTE.writable | PTE.accessed, at: directL3 + i * 8)
            for j in 0..<min(512, largePages - i * 512) {
                let page = (i * 512 + j) << 21
                try phys.store(page | PTE.present | PTE.writable | PTE.accessed | PTE.dirty | PTE.largePage | PTE.noExecute, at: l2 + j * 8)
            }
        }
        try phys.store(directL3 | PTE.present | PTE.writable | PTE.accessed, at: l4 * 4096 + UInt64(HypervisorHole.directMapSlot) * 8)
        try phys.store(holeL3 | table, at: l4 * 4096 + UInt64(HypervisorHole.baseSlot) * 8)
        try phys.store(m2pL3 | PTE.present | PTE.accessed | PTE.user, at: l4 * 4096 + UInt64(HypervisorHole.m2pSlot) * 8)
        try phys.store(m2pL3 | PTE.present | PTE.accessed | PTE.user, at: l4 * 4096 + UInt64(HypervisorHole.m2pAliasSlot) * 8)
    }

    /// The 64-bit hypercall page: 32-byte slots `push %rcx; push %r11; mov $nr,%eax; syscall; pop %r11; pop %rcx; ret`.
    private func writeHypercallPage(at gpa: UInt64) throws {
        let phys = memory.physical
        try phys.fill(gpa, count: 4096, with: 0xcc)
        for nr in 0..<128 {
            let n = UInt8(nr)
            let slot: [UInt8] = nr == Int(Hypercall.iret.rawValue)
                ? [0x51, 0x41, 0x53, 0x50, 0xb8, n, 0, 0, 0, 0x0f, 0x05]
                : [0x51, 0x41, 0x53, 0xb8, n, 0, 0, 0, 0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3]
            try phys.write(slot, at: gpa + UInt64(nr) * 32)
        }
    }

    private func writeStartInfo(at gpa: UInt64, sharedInfo: UInt64, xenstoreMFN: UInt64, consoleMFN: UInt64,
                                ptBase: UInt64, ptFrames: UInt64, p2m: UInt64) throws {
        let phys = memory.physical
        try phys.fill(gpa, count: 4096, with: 0)
        try phys.write(Array(StartInfo64.magicValue.utf8), at: gpa + UInt64(StartInfo64.magic))
        try phys.store(memory.nrPages, at: gpa + UInt64(StartInfo64.nrPages))
        try phys.store(sharedInfo, at: gpa + UInt64(StartInfo64.sharedInfo))
        try phys.store(UInt32(0), at: gpa + UInt64(StartInfo64.flags))
        try phys.store(xenstoreMFN, at: gpa + UInt64(StartInfo64.storeMFN))
        try phys.store(Self.xenstoreEvtchn, at: gpa + UInt64(StartInfo64.storeEvtchn))
        try phys.store(consoleMFN, at: gpa + UInt64(StartInfo64.consoleMFN))
        try phys.store(Self.consoleEvtchn, at: gpa + UInt64(StartInfo64.consoleEvtchn))
        try phys.store(ptBase, at: gpa + UInt64(StartInfo64.ptBase))
        try phys.store(ptFrames, at: gpa + UInt64(StartInfo64.nrPtFrames))
        try phys.store(p2m, at: gpa + UInt64(StartInfo64.mfnList))
        let line = Array(cmdline.utf8.prefix(StartInfo64.cmdLineLength - 1))
        try phys.write(line, at: gpa + UInt64(StartInfo64.cmdLine))
    }
}
