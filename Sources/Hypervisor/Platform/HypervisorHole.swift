import GuestImages
import KVM

/// xkv's ring-0 pages in the hypervisor hole of every 64-bit PV domain, as Xen places its own:
/// a GDT with Xen's flat selectors, the global IDT, a TSS, one-instruction entry stubs that hand
/// each trap and hypercall to the engine by port I/O, and a ring-0 stack.
///
/// The stubs are a single `out` each: the engine does all the hypervisor's work in Swift on the
/// saved state and resumes the guest by setting its registers, so no hypervisor code runs after
/// the exit (every ring-0 instruction costs ~2 us on PVM).
public enum HypervisorHole {
    /// First and last address (exclusive) of the hole: L4 slots 256-271.
    public static let start: UInt64 = 0xFFFF_8000_0000_0000
    public static let end: UInt64 = 0xFFFF_8800_0000_0000
    /// The read-only machine-to-phys table (L4 slot 256).
    public static let m2pBase: UInt64 = 0xFFFF_8000_0000_0000
    /// xkv's own pages (L4 slot 262, where Xen keeps its direct map).
    public static let base: UInt64 = 0xFFFF_8300_0000_0000
    /// A second mapping of the M2P (L4 slot 257) for hosts whose KVM cannot give ring 3 slot 256
    /// (PVM); `XENMEM_machphys_mapping` tells guests which one to use (`PVMCompensation.m2pAlias`).
    public static let m2pAliasBase: UInt64 = 0xFFFF_8080_0000_0000
    /// xkv's direct map of guest RAM (supervisor, read-write; L4 slot 263, beside Xen's).
    public static let directMapBase: UInt64 = 0xFFFF_8380_0000_0000
    public static let m2pSlot = 256, m2pAliasSlot = 257, baseSlot = 262, directMapSlot = 263

    /// Offsets of xkv's pages from `base`, in pages.
    public enum Page {
        public static let gdt = 0          // 16 pages: 14 for the guest's GDT, 2 for Xen's reserved entries
        public static let gdtPages = 16
        public static let idt = 16
        public static let tss = 17
        public static let stubs = 18       // supervisor: one 4-byte stub per vector
        public static let entry = 19       // the syscall entry page (LSTAR/CSTAR)
        public static let stack = 20       // 4 pages of ring-0 stack
        public static let stackPages = 4
        public static let code = 24        // ring-0 code of 32-bit PV domains (Kernels/xkv_entry)
        public static let context = 25     // the vCPU's 0x80 slot and kernel stack, read by that code
        public static let count = 26
    }

    public static var gdtAddress: UInt64 { base + UInt64(Page.gdt) * 4096 }
    public static var idtAddress: UInt64 { base + UInt64(Page.idt) * 4096 }
    public static var tssAddress: UInt64 { base + UInt64(Page.tss) * 4096 }
    public static var stubsAddress: UInt64 { base + UInt64(Page.stubs) * 4096 }
    /// MSR_LSTAR: where `syscall` from 64-bit code lands.
    public static var lstar: UInt64 { base + UInt64(Page.entry) * 4096 }
    /// MSR_CSTAR: where `syscall` from compatibility-mode code lands.
    public static var cstar: UInt64 { lstar + 0x10 }
    public static var stackTop: UInt64 { base + UInt64(Page.stack + Page.stackPages) * 4096 }

    /// Entry points in the code page (fixed by `.org` in Kernels/xkv_entry/entry.S).
    public static let udEntryOffset: UInt64 = 0
    public static let int80EntryOffset: UInt64 = 0x80
    public static let gpEntryOffset: UInt64 = 0x200
    public static var codeAddress: UInt64 { base + UInt64(Page.code) * 4096 }
    public static var contextAddress: UInt64 { base + UInt64(Page.context) * 4096 }

    /// Fields of the context page (u64 each), as entry.S reads them.
    public enum Context {
        public static let slotPresent: UInt64 = 0, slotEIP: UInt64 = 8, slotCS: UInt64 = 16
        public static let kernelSP: UInt64 = 24, kernelSS: UInt64 = 32, maskAddress: UInt64 = 40, udAsInt80: UInt64 = 48
        public static let iretEmulated: UInt64 = 56
    }

    /// Port the exception stubs write to; the exit's rip says which vector.
    public static let exceptionPort: UInt16 = 0xe0
    /// Port the syscall entry writes to.
    public static let syscallPort: UInt16 = 0xe1
    /// Port xkv's ring-0 service stubs write to when done.
    public static let servicePort: UInt16 = 0xe2

    /// Ring-0 service stubs the engine runs on a vCPU to change the guest's page tables the way
    /// the CPU sees them (see `PVVCPU.runService`). Offsets in the stubs page, and their lengths.
    public enum Service: UInt64 {
        /// `mov %rdx,(%rdi); invlpg (%rsi)`: write one entry, drop one translation.
        case writeEntryInvalidatePage = 0x800
        /// `mov %rdx,(%rdi); mov %cr3,%rax; mov %rax,%cr3`: write one entry, drop all translations.
        case writeEntryFlushAll = 0x820
        /// `mov %cr3,%rax; mov %rax,%cr3`: drop all translations.
        case flushAll = 0x840

        var code: [UInt8] {
            switch self {
            case .writeEntryInvalidatePage: return [0x48, 0x89, 0x17, 0x0f, 0x01, 0x3e]
            case .writeEntryFlushAll: return [0x48, 0x89, 0x17, 0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8]
            case .flushAll: return [0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8]
            }
        }
        /// Address of the stub in the hole.
        public var address: UInt64 { HypervisorHole.stubsAddress + rawValue }
        /// The rip of the exit when the stub has run (just past its `out`).
        public var exitRIP: UInt64 { address + UInt64(code.count) + 2 }
    }
    public static let stubSize: UInt64 = 4
    /// The TSS's I/O bitmap covers ports 0-255 (ports past the limit are denied).
    static let ioBitmapBytes = 32
    /// TSS limit: the 104-byte TSS, the bitmap and its terminating byte.
    public static let tssLimit = UInt32(0x68 + ioBitmapBytes)

    /// The vector whose stub ends at `rip` (the exit rip is just past the `out`), if any.
    @inline(__always)
    public static func vector(exitRIP rip: UInt64) -> Int? {
        let first = stubsAddress + 2
        guard rip >= first, (rip - first) % stubSize == 0 else { return nil }
        let v = (rip - first) / stubSize
        return v < 256 ? Int(v) : nil
    }

    /// True when `address` lies in the hole (no guest pointer may point there).
    @inline(__always)
    public static func contains(_ address: UInt64) -> Bool { address >= start && address < end }

    /// Xen's flat selectors for 64-bit PV guests and the hypervisor (FIRST_RESERVED_GDT_ENTRY = 0xe000/8).
    public enum Selector {
        public static let hypervisorCS: UInt16 = 0xe008
        public static let hypervisorDS: UInt16 = 0xe010
        public static let ring3CS32: UInt16 = 0xe023
        public static let ring3DS: UInt16 = 0xe02b
        public static let ring3CS64: UInt16 = 0xe033
        public static let hypervisorCS32: UInt16 = 0xe038
        public static let tss: UInt16 = 0xe040
        /// 32-bit PV (compat) guests: FLAT_RING1_CS/DS, FLAT_RING3_CS/DS.
        public static let ring1CS: UInt16 = 0xe019
        public static let ring1DS: UInt16 = 0xe021
        public static let compatRing3CS: UInt16 = 0xe02b
        public static let compatRing3DS: UInt16 = 0xe033
        /// Index of the first reserved descriptor.
        public static let firstReservedEntry = 0xe000 / 8
    }

    /// The reserved descriptors, by selector, as Xen's `gdt_table` holds them for 64-bit guests.
    static let reservedDescriptors: [(UInt16, UInt64)] = [
        (Selector.hypervisorCS, 0x00af_9b00_0000_ffff),
        (Selector.hypervisorDS, 0x00cf_9300_0000_ffff),
        (Selector.ring3CS32, 0x00cf_fb00_0000_ffff),
        (Selector.ring3DS, 0x00cf_f300_0000_ffff),
        (Selector.ring3CS64, 0x00af_fb00_0000_ffff),
        (Selector.hypervisorCS32, 0x00cf_9b00_0000_ffff),
    ]

    /// Xen's `compat_gdt_table`, for 32-bit PV guests: ring-1 kernel and ring-3 user segments.
    static let compatReservedDescriptors: [(UInt16, UInt64)] = [
        (Selector.hypervisorCS, 0x00af_9b00_0000_ffff),
        (Selector.hypervisorDS, 0x00cf_9300_0000_ffff),
        (Selector.ring1CS, 0x00cf_bb00_0000_ffff),
        (Selector.ring1DS, 0x00cf_b300_0000_ffff),
        (Selector.compatRing3CS, 0x00cf_fb00_0000_ffff),
        (Selector.compatRing3DS, 0x00cf_f300_0000_ffff),
        (Selector.hypervisorCS32, 0x00cf_9b00_0000_ffff),
    ]

    /// Writes GDT, IDT, TSS, stubs and entry page into xkv's frames (`frame(page)` gives the
    /// guest-physical address of hole page `page`).
    static func populate(_ memory: GuestPhysicalMemory, compat: Bool, frame: (Int) -> UInt64) throws(MemoryFault) {
        let gdtReserved = frame(Page.gdt + 14)
        for (selector, descriptor) in compat ? compatReservedDescriptors : reservedDescriptors {
            try memory.store(descriptor, at: gdtReserved + UInt64(selector & ~7) - 0xe000)
        }
        // 64-bit TSS descriptor (busy type 0xb) at 0xe040, 16 bytes.
        let tss = tssAddress
        let low: UInt64 = UInt64(tssLimit) | (tss & 0xff_ffff) << 16 | 0x8b << 40 | ((tss >> 24) & 0xff) << 56
        try memory.store(low, at: gdtReserved + 0x40)
        try memory.store(tss >> 32, at: gdtReserved + 0x48)

        // TSS: rsp0 at 4; an I/O bitmap that denies every port but the syscall entry's
        // (PVMCompensation.syscallAtCPL3: on PVM the entry's `out` runs at CPL 3).
        try memory.store(stackTop, at: frame(Page.tss) + 4)
        try memory.store(UInt16(0x68), at: frame(Page.tss) + 102)
        var bitmap = [UInt8](repeating: 0xff, count: ioBitmapBytes + 1)
        bitmap[Int(syscallPort) / 8] &= ~(1 << (syscallPort % 8))
        try memory.write(bitmap, at: frame(Page.tss) + 0x68)

        // Stubs: out %al,$0xe0; ud2 (the ud2 is never reached: the engine resumes elsewhere).
        let stubs = frame(Page.stubs)
        try memory.fill(stubs, count: 4096, with: 0xcc)
        for v in 0..<256 {
            try memory.write([0xe6, UInt8(exceptionPort), 0x0f, 0x0b], at: stubs + UInt64(v) * stubSize)
        }
        for service in [Service.writeEntryInvalidatePage, .writeEntryFlushAll, .flushAll] {
            try memory.write(service.code + [0xe6, UInt8(servicePort), 0x0f, 0x0b], at: stubs + service.rawValue)
        }
        let entry = frame(Page.entry)
        try memory.fill(entry, count: 4096, with: 0xcc)
        try memory.write([0xe6, UInt8(syscallPort), 0x0f, 0x0b], at: entry)
        try memory.write([0xe6, UInt8(syscallPort), 0x0f, 0x0b], at: entry + 0x10)

        // 32-bit PV domains: the direct 0x80 path's ring-0 code, reached from #UD (PVM) and 0x80.
        if compat {
            guard let code = GuestImage.hypervisorCode(named: "entry"), let image = try? ELFImage(code.bytes),
                  let text = image.segments.first, text.virtualAddress == codeAddress, text.fileSize <= 4096 else {
                throw MemoryFault.outOfRange(address: codeAddress, length: 4096)
            }
            let start = Int(text.fileOffset)
            try memory.write(Array(code.bytes[start..<start + Int(text.fileSize)]), at: frame(Page.code))
        }

        // IDT: 64-bit interrupt gates to the stubs; #BP, #OF and 0x80 reachable from ring 3 as on Xen.
        let idt = frame(Page.idt)
        for v in 0..<256 {
            var handler = stubsAddress + UInt64(v) * stubSize
            if compat && v == 6 { handler = codeAddress + udEntryOffset }
            if compat && v == 0x80 { handler = codeAddress + int80EntryOffset }
            if compat && v == 13 { handler = codeAddress + gpEntryOffset }
            // 0x82 is the 32-bit hypercall gate, reachable from the ring-1 kernel only.
            let dpl: UInt64 = (v == 3 || v == 4 || v == 0x80) ? 3 : (compat && v == 0x82 ? 1 : 0)
            let low = (handler & 0xffff) | UInt64(Selector.hypervisorCS) << 16 | (0x8e | dpl << 5) << 40 | ((handler >> 16) & 0xffff) << 48
            try memory.store(low, at: idt + UInt64(v) * 16)
            try memory.store(handler >> 32, at: idt + UInt64(v) * 16 + 8)
        }
    }

    /// The global IDT as front ends show it: the same in every domain of a kind, as `populate`
    /// writes it (32-bit PV domains enter #UD, #GP and 0x80 through xkv's ring-0 code page).
    public static func gates(compat: Bool) -> [IDTGate] {
        (0..<256).map { v in
            var entry = stubsAddress + UInt64(v) * stubSize
            if compat && v == 6 { entry = codeAddress + udEntryOffset }
            if compat && v == 13 { entry = codeAddress + gpEntryOffset }
            if compat && v == 0x80 { entry = codeAddress + int80EntryOffset }
            let dpl = (v == 3 || v == 4 || v == 0x80) ? 3 : (compat && v == 0x82 ? 1 : 0)
            return IDTGate(vector: v, entry: entry, gateType: "interrupt64", dpl: dpl, name: exceptionName(v))
        }
    }

    /// Whether `vector` pushes an error code.
    public static func hasErrorCode(_ vector: Int) -> Bool {
        [8, 10, 11, 12, 13, 14, 17, 21, 29, 30].contains(vector)
    }

    /// Exception names for logs and counters.
    public static func exceptionName(_ vector: Int) -> String {
        let names = ["#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP", "#SS", "#GP",
                     "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP"]
        if vector == 0x80 { return "syscall" }
        if vector == 0x82 { return "hypercall32" }
        return vector < names.count ? names[vector] : "vector \(vector)"
    }
}
