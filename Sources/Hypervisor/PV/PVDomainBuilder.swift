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
    public var pageTableBase: UInt64     // VA of the top table
    public var rootTableMFN: UInt64      // the guest's top table's frame (L4, or the PAE L3 of a 32-bit guest)
    public var pageTableFrames: UInt64
    public var stackTop: UInt64
    public var mappedEnd: UInt64
    public var guestOS: String
    /// Guest-physical address of the guest's report page (`GuestReport`), if it has one.
    public var reportPage: UInt64?
    /// A 32-bit PV (compat) guest.
    public var compat: Bool
    /// What KVM's cr3 holds: the guest's L4, or for a 32-bit guest xkv's 4-level root.
    public var hardwareRoot: UInt64
}

/// Builds a PV domain the way Xen's domain builder (libxenguest `xc_dom_*`) does: loads the ELF
/// kernel by its Xen notes, lays out P2M, start_info, xenstore and console pages, page tables and
/// boot stack after it, maps all of that, and maps xkv's ring-0 pages into the hole.
/// 64-bit kernels get 4-level tables; 32-bit kernels get PAE tables of their own, run under a
/// 4-level root of xkv's whose slot 0 reaches a copy of their L3 (Xen's compat model).
struct PVDomainBuilder {
    static let xenstoreEvtchn: UInt32 = 1
    static let consoleEvtchn: UInt32 = 2
    /// Where Xen keeps 32-bit guests' view of the hypervisor (HYPERVISOR_COMPAT_VIRT_START):
    /// the compat M2P starts here, and the guest's top L2 slots from here on are Xen's.
    static let compatVirtStart: UInt64 = 0xF580_0000
    static var compatFirstXenL2Slot: Int { Int((compatVirtStart >> 21) & 0x1ff) }

    let image: ELFImage
    let memory: PVMemory
    let cmdline: String

    private var compat: Bool { memory.compat }
    private var layout: PrivateLayout { memory.layout }

    func build() throws(DomainError) -> PVBootLayout {
        let phys = memory.physical
        // Xen ELF notes: a PV kernel must carry them (Xen refuses plain ELF files too).
        guard !image.xenNotes.isEmpty else {
            throw .badImage("not a Xen PV kernel: it has no Xen ELF notes (PT_NOTE with name \"Xen\")")
        }
        if let loader = image.noteString(.loader), loader != "generic" {
            throw .badImage("kernel asks for loader '\(loader)'; xkv's builder is 'generic'")
        }
        if compat, let pae = image.noteString(.paeMode), pae != "yes", pae != "bimodal", pae != "extended-cr3" {
            throw .badImage("32-bit kernel without PAE (PAE_MODE '\(pae)'): Xen on x86_64 runs 32-bit PV guests with PAE only")
        }
        let virtBase = image.noteInteger(.virtBase) ?? 0
        let paddrOffset = image.noteInteger(.paddrOffset) ?? (image.xenNotes[XenNote.virtBase.rawValue] == nil ? 0 : virtBase)
        guard GuestVirtualMemory.isCanonical(virtBase), virtBase & 0xfff == 0 else {
            throw .badImage("virt_base \(virtBase.hex) must be a canonical, page-aligned address")
        }
        let virtOffset = virtBase &- paddrOffset
        let entry = image.noteInteger(.entry) ?? image.entry
        let hypercallPage = image.noteInteger(.hypercallPage)
        let addressLimit: UInt64 = compat ? Self.compatVirtStart : UInt64.max

        // Load the segments at p_paddr + virt_offset, pfn = (va - virt_base) >> 12.
        var kernelEnd = virtBase
        for segment in image.segments where segment.memorySize > 0 {
            let va = segment.physicalAddress &+ virtOffset
            guard va >= virtBase, va &+ segment.memorySize >= va, va + segment.memorySize <= addressLimit else {
                throw .badImage("segment at \(va.hex) lies outside the guest's address space (virt_base \(virtBase.hex))")
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
        // The hole belongs to the hypervisor: a kernel there would be overwritten by xkv's own mappings.
        if !compat && virtBase < HypervisorHole.end && kernelEnd > HypervisorHole.start {
            throw .badImage("the kernel (\(virtBase.hex)...\(kernelEnd.hex)) overlaps the hypervisor hole \(HypervisorHole.start.hex)...\(HypervisorHole.end.hex)")
        }

        // Layout after the kernel, as xc_dom_build_image: P2M, start_info, xenstore, console, tables, stack.
        // A kernel may load just below 2^64 (virt_base is the guest's to choose): every address past it
        // is computed with overflow checked, and a layout that would wrap around is refused.
        func checked(_ end: (partialValue: UInt64, overflow: Bool)) throws(DomainError) -> UInt64 {
            guard !end.overflow else {
                throw .badImage("virt_base \(virtBase.hex) leaves no room for the boot layout below the top of the address space")
            }
            return end.partialValue
        }
        var next = try checked(Self.roundUp(kernelEnd, to: 4096))
        func allocate(_ bytes: UInt64) throws(DomainError) -> UInt64 {
            let start = next
            next = try checked(next.addingReportingOverflow((bytes + 4095) & ~4095))
            return start
        }
        let nr = memory.nrPages
        let p2m = try allocate(nr * (compat ? 4 : 8))
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
            let needed = tablesToMap(from: virtBase, to: mappedEnd)
            if needed <= tableCount { break }
            tableCount = needed
        }
        next = tablesStart + tableCount * 4096
        let stack = try allocate(4096)
        guard (mappedEnd - virtBase) / 4096 <= nr, mappedEnd <= addressLimit else {
            throw .tooLittleMemory("the kernel's initial mapping needs \((mappedEnd - virtBase) >> 20) MiB; give the domain more memory")
        }
        let pfn = { (va: UInt64) -> UInt64 in (va - virtBase) >> 12 }

        do {
            let top = try buildPageTables(virtBase: virtBase, mappedEnd: mappedEnd, tablesStart: tablesStart, tableCount: tableCount)
            try writeMachineToPhys(p2mAt: pfn(p2m) * 4096)
            try HypervisorHole.populate(phys, compat: compat) { memory.privateFrame(layout.holePages + UInt64($0)) }
            if let hypercallPage {
                guard hypercallPage >= virtBase, hypercallPage < kernelEnd, hypercallPage & 0xfff == 0 else {
                    throw DomainError.badImage("hypercall page \(hypercallPage.hex) is not a page inside the kernel")
                }
                try writeHypercallPage(at: pfn(hypercallPage) * 4096)
            }
            // shared_info: every vcpu_info.evtchn_upcall_mask starts at 1.
            let sharedInfo = memory.privateFrame(layout.sharedInfo)
            for v in 0..<SharedInfo64.maxVCPUs {
                try phys.store(UInt8(1), at: sharedInfo + UInt64(v * SharedInfo64.vcpuInfoSize + SharedInfo64.upcallMask))
            }
            memory.allowMapping(sharedInfo / 4096)
            // The ring-0 0x80 path reads the event mask through the direct map.
            let context = memory.privateFrame(layout.holePages + UInt64(HypervisorHole.Page.context))
            try phys.store(HypervisorHole.directMapBase + sharedInfo + UInt64(SharedInfo64.upcallMask),
                           at: context + HypervisorHole.Context.maskAddress)
            let info = StartInfoWriter(compat: compat, memory: memory, cmdline: cmdline)
            try info.write(at: pfn(startInfo) * 4096, sharedInfo: sharedInfo, xenstoreMFN: pfn(xenstore), consoleMFN: pfn(console),
                           ptBase: tablesStart, ptFrames: tableCount, p2m: p2m)
            let hardwareRoot = compat ? try buildCompatRoot(guestL3: pfn(tablesStart)) : pfn(tablesStart) << 12
            _ = top
            return PVBootLayout(virtBase: virtBase, entry: entry, hypercallPage: hypercallPage, startInfo: startInfo, p2m: p2m,
                                xenstoreMFN: pfn(xenstore), consoleMFN: pfn(console), sharedInfoMFN: sharedInfo >> 12,
                                pageTableBase: tablesStart, rootTableMFN: pfn(tablesStart), pageTableFrames: tableCount,
                                stackTop: stack + 4096, mappedEnd: mappedEnd, guestOS: image.noteString(.guestOS) ?? "unknown",
                                reportPage: image.reportPage.flatMap { va in
                                    va >= virtBase && va < kernelEnd && va & 0xfff == 0 ? pfn(va) << 12 : nil
                                },
                                compat: compat, hardwareRoot: hardwareRoot)
        } catch let error as DomainError {
            throw error
        } catch {
            throw .badImage("building the domain failed: \(error)")
        }
    }

    /// `value` rounded up to a multiple of `alignment` (a power of two), reporting a wrap past 2^64.
    static func roundUp(_ value: UInt64, to alignment: UInt64) -> (partialValue: UInt64, overflow: Bool) {
        let (sum, overflow) = value.addingReportingOverflow(alignment - 1)
        return (sum & ~(alignment - 1), overflow)
    }

    /// Page tables needed to map [from, to): 4-level (one L4 plus one table per touched 512 GiB,
    /// 1 GiB, 2 MiB), or PAE (one L3, an L2 per GiB — always including the top GiB, where the
    /// compat M2P lives — and an L1 per 2 MiB).
    func tablesToMap(from: UInt64, to: UInt64) -> UInt64 {
        func spans(_ shift: UInt64) -> UInt64 { ((to - 1) >> shift) - (from >> shift) + 1 }
        if compat {
            let topGiBTouched = (to - 1) >> 30 == 3
            return 1 + spans(30) + (topGiBTouched ? 0 : 1) + spans(21)
        }
        return 1 + spans(39) + spans(30) + spans(21)
    }

    /// Builds the guest's own tables in its frames, in allocation order; returns the top frame.
    private func buildPageTables(virtBase: UInt64, mappedEnd: UInt64, tablesStart: UInt64, tableCount: UInt64) throws -> UInt64 {
        let phys = memory.physical
        // 64-bit PV: every entry carries the user bit (kernel and user share ring 3).
        // 32-bit PV: the kernel's mappings are supervisor (ring 1); upper levels allow user.
        let upper = PTE.present | PTE.writable | PTE.accessed | PTE.dirty | PTE.user
        let leaf = PTE.present | PTE.writable | PTE.accessed | (compat ? 0 : PTE.user)
        let firstTable = (tablesStart - virtBase) >> 12
        let lastTable = firstTable + tableCount
        var nextTable = firstTable
        let top = nextTable
        nextTable += 1
        memory.setLevel(compat ? 3 : 4, of: top)
        // Walks down from the top table, creating tables on demand.
        func table(below parent: UInt64, index: UInt64, level: Int) throws -> UInt64 {
            let slot = parent * 4096 + index * 8
            let entry = try phys.load(UInt64.self, at: slot)
            if entry & PTE.present != 0 { return (entry & PTE.frameMask) >> 12 }
            let frame = nextTable
            nextTable += 1
            // A PAE L3 entry (PDPTE) has only the present bit among the low flags.
            try phys.store(frame << 12 | (compat && level == 2 ? PTE.present : upper), at: slot)
            memory.setLevel(level, of: frame)
            return frame
        }
        var va = virtBase
        while va < mappedEnd {
            let l2: UInt64
            if compat {
                l2 = try table(below: top, index: (va >> 30) & 3, level: 2)
            } else {
                let l3 = try table(below: top, index: (va >> 39) & 0x1ff, level: 3)
                l2 = try table(below: l3, index: (va >> 30) & 0x1ff, level: 2)
            }
            let l1 = try table(below: l2, index: (va >> 21) & 0x1ff, level: 1)
            let pfn = (va - virtBase) >> 12
            // Page-table pages are mapped read-only, as Xen requires of a PV guest.
            let flags = (pfn >= firstTable && pfn < lastTable) ? leaf & ~PTE.writable : leaf
            try phys.store(pfn << 12 | flags, at: l1 * 4096 + ((va >> 12) & 0x1ff) * 8)
            va += 4096
        }
        if compat {
            // The top GiB's L2 holds Xen's slots (the compat M2P) even if the kernel maps nothing there.
            let topL2 = try table(below: top, index: 3, level: 2)
            try installCompatMachineToPhys(inL2: topL2)
        }
        guard nextTable <= lastTable else { throw DomainError.badImage("page-table estimate too small") }
        if !compat { try Self.installHole(memory: memory, inL4: top) }
        return top
    }

    /// P2M (identity: each domain owns its VM, so pfn == mfn) in the guest, and the M2P tables.
    private func writeMachineToPhys(p2mAt gpa: UInt64) throws {
        let phys = memory.physical
        let m2p = memory.privateFrame(layout.m2pData)
        for i in 0..<memory.nrPages {
            if compat { try phys.store(UInt32(i), at: gpa + i * 4) } else { try phys.store(i, at: gpa + i * 8) }
            try phys.store(i, at: m2p + i * 8)
            if compat { try phys.store(UInt32(i), at: memory.privateFrame(layout.compatM2PData) + i * 4) }
        }
    }

    /// Maps the compat M2P (u32 entries, read-only) at HYPERVISOR_COMPAT_VIRT_START through the
    /// guest's top L2, whose slots from there on belong to the hypervisor.
    private func installCompatMachineToPhys(inL2 l2: UInt64) throws {
        let phys = memory.physical
        for i in 0..<layout.compatM2PL1Count {
            let l1 = memory.privateFrame(layout.compatM2PL1s + i)
            for j in 0..<min(512, layout.compatM2PPages - i * 512) {
                let frame = memory.privateFrame(layout.compatM2PData + i * 512 + j)
                try phys.store(frame | PTE.present | PTE.accessed | PTE.user, at: l1 + j * 8)
            }
            let slot = UInt64(Self.compatFirstXenL2Slot) + i
            guard slot < 512 else { throw DomainError.tooLittleMemory("the compat M2P does not fit below 4 GiB") }
            try phys.store(l1 | PTE.present | PTE.accessed | PTE.user, at: l2 * 4096 + slot * 8)
        }
    }

    /// xkv's 4-level root for a 32-bit guest: slot 0 reaches the per-vCPU copy of the guest's
    /// PAE L3 (entries widened to long-mode form), the upper slots hold the hole.
    private func buildCompatRoot(guestL3: UInt64) throws -> UInt64 {
        let phys = memory.physical
        let root = memory.privateFrame(layout.compatRoot)
        let copy = memory.privateFrame(layout.compatL3)
        for i in 0..<UInt64(4) {
            let entry = try phys.load(UInt64.self, at: guestL3 * 4096 + i * 8)
            try phys.store(Self.widenPDPTE(entry), at: copy + i * 8)
        }
        try phys.store(copy | PTE.present | PTE.writable | PTE.accessed | PTE.user, at: root)
        try Self.installHole(memory: memory, inL4: root >> 12)
        return root
    }

    /// A PAE L3 entry as a long-mode L3 entry: the same frame, with the access bits long mode needs.
    static func widenPDPTE(_ entry: UInt64) -> UInt64 {
        entry & PTE.present == 0 ? 0 : (entry & PTE.frameMask) | PTE.present | PTE.writable | PTE.accessed | PTE.user
    }

    /// Fills the hole slots of the 4-level table `l4` (a frame number): the M2P (and its alias),
    /// xkv's pages and the direct map. The tables below them are private and shared by every L4.
    static func installHole(memory: PVMemory, inL4 l4: UInt64) throws {
        let phys = memory.physical
        let layout = memory.layout
        let holeL3 = memory.privateFrame(layout.holeL3), holeL2 = memory.privateFrame(layout.holeL2)
        let holeL1 = memory.privateFrame(layout.holeL1)
        let table = PTE.present | PTE.writable | PTE.accessed | PTE.user
        try phys.store(holeL2 | table, at: holeL3)
        try phys.store(holeL1 | table, at: holeL2)
        for page in 0..<HypervisorHole.Page.count {
            let frame = memory.privateFrame(layout.holePages + UInt64(page))
            var flags = PTE.present | PTE.accessed | PTE.dirty | PTE.noExecute
            switch page {
            case HypervisorHole.Page.stubs, HypervisorHole.Page.code:
                flags &= ~PTE.noExecute
            case HypervisorHole.Page.entry:
                // PVMCompensation.syscallAtCPL3: on PVM `syscall` lands at LSTAR still at CPL 3,
                // so the entry page must be executable from ring 3 (read-only). Harmless on hardware.
                flags = (flags & ~PTE.noExecute) | PTE.user
            default:
                flags |= PTE.writable
            }
            try phys.store(frame | flags, at: holeL1 + UInt64(page) * 8)
        }
        let m2pL3 = memory.privateFrame(layout.m2pL3), m2pL2 = memory.privateFrame(layout.m2pL2)
        try phys.store(m2pL2 | PTE.present | PTE.accessed | PTE.user, at: m2pL3)
        for i in 0..<layout.m2pL1Count {
            let l1 = memory.privateFrame(layout.m2pL1s + i)
            try phys.store(l1 | PTE.present | PTE.accessed | PTE.user, at: m2pL2 + i * 8)
            for j in 0..<min(512, layout.m2pPages - i * 512) {
                let frame = memory.privateFrame(layout.m2pData + i * 512 + j)
                try phys.store(frame | PTE.present | PTE.accessed | PTE.user | PTE.noExecute, at: l1 + j * 8)
            }
        }
        // The direct map: guest RAM and xkv's frames in 2 MiB pages, for xkv's ring-0 writes.
        let directL3 = memory.privateFrame(layout.directL3)
        let largePages = (memory.privateEnd + 0x1f_ffff) >> 21
        for i in 0..<layout.directL2Count {
            let l2 = memory.privateFrame(layout.directL2s + i)
            try phys.store(l2 | PTE.present | PTE.writable | PTE.accessed, at: directL3 + i * 8)
            for j in 0..<UInt64(512) where i * 512 + j < largePages {
                let page = (i * 512 + j) << 21
                try phys.store(page | PTE.present | PTE.writable | PTE.accessed | PTE.dirty | PTE.largePage | PTE.noExecute, at: l2 + j * 8)
            }
        }
        let slots: [(Int, UInt64)] = [
            (HypervisorHole.m2pSlot, m2pL3 | PTE.present | PTE.accessed | PTE.user),
            (HypervisorHole.m2pAliasSlot, m2pL3 | PTE.present | PTE.accessed | PTE.user),
            (HypervisorHole.baseSlot, holeL3 | table),
            (HypervisorHole.directMapSlot, directL3 | PTE.present | PTE.writable | PTE.accessed),
        ]
        for (slot, entry) in slots { try phys.store(entry, at: l4 * 4096 + UInt64(slot) * 8) }
    }

    /// The hypercall page. 64-bit: 32-byte slots `push %rcx; push %r11; mov $nr,%eax; syscall;
    /// pop %r11; pop %rcx; ret`. 32-bit: `mov $nr,%eax; int $0x82; ret`.
    private func writeHypercallPage(at gpa: UInt64) throws {
        let phys = memory.physical
        try phys.fill(gpa, count: 4096, with: 0xcc)
        let iret = Int(Hypercall.iret.rawValue)
        for nr in 0..<128 {
            let n = UInt8(nr)
            let slot: [UInt8]
            if compat {
                slot = nr == iret ? [0x50, 0xb8, n, 0, 0, 0, 0xcd, 0x82] : [0xb8, n, 0, 0, 0, 0xcd, 0x82, 0xc3]
            } else {
                slot = nr == iret
                    ? [0x51, 0x41, 0x53, 0x50, 0xb8, n, 0, 0, 0, 0x0f, 0x05]
                    : [0x51, 0x41, 0x53, 0xb8, n, 0, 0, 0, 0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3]
            }
            try phys.write(slot, at: gpa + UInt64(nr) * 32)
        }
    }
}

/// Writes `start_info` in the guest's layout (64-bit or 32-bit; offsets in `StartInfo64`/`StartInfo32`).
struct StartInfoWriter {
    let compat: Bool
    let memory: PVMemory
    let cmdline: String

    func write(at gpa: UInt64, sharedInfo: UInt64, xenstoreMFN: UInt64, consoleMFN: UInt64,
               ptBase: UInt64, ptFrames: UInt64, p2m: UInt64) throws {
        let phys = memory.physical
        try phys.fill(gpa, count: 4096, with: 0)
        func word(_ value: UInt64, _ offset64: Int, _ offset32: Int) throws {
            if compat { try phys.store(UInt32(truncatingIfNeeded: value), at: gpa + UInt64(offset32)) }
            else { try phys.store(value, at: gpa + UInt64(offset64)) }
        }
        func u32(_ value: UInt32, _ offset64: Int, _ offset32: Int) throws {
            try phys.store(value, at: gpa + UInt64(compat ? offset32 : offset64))
        }
        try phys.write(Array((compat ? StartInfo32.magicValue : StartInfo64.magicValue).utf8), at: gpa)
        try word(memory.nrPages, StartInfo64.nrPages, StartInfo32.nrPages)
        try word(sharedInfo, StartInfo64.sharedInfo, StartInfo32.sharedInfo)
        try u32(0, StartInfo64.flags, StartInfo32.flags)
        try word(xenstoreMFN, StartInfo64.storeMFN, StartInfo32.storeMFN)
        try u32(PVDomainBuilder.xenstoreEvtchn, StartInfo64.storeEvtchn, StartInfo32.storeEvtchn)
        try word(consoleMFN, StartInfo64.consoleMFN, StartInfo32.consoleMFN)
        try u32(PVDomainBuilder.consoleEvtchn, StartInfo64.consoleEvtchn, StartInfo32.consoleEvtchn)
        try word(ptBase, StartInfo64.ptBase, StartInfo32.ptBase)
        try word(ptFrames, StartInfo64.nrPtFrames, StartInfo32.nrPtFrames)
        try word(p2m, StartInfo64.mfnList, StartInfo32.mfnList)
        let line = Array(cmdline.utf8.prefix(StartInfo64.cmdLineLength - 1))
        try phys.write(line, at: gpa + UInt64(compat ? StartInfo32.cmdLine : StartInfo64.cmdLine))
    }
}
