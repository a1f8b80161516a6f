import CKVM
import KVM

/// Builds an HVM domain for xkv's own 64-bit HVM kernels: the kernel's segments at their
/// physical addresses, a boot-parameters page and command line, an identity map of the first
/// 4 GiB, a flat GDT, and Xen's SMBIOS tables; the vCPU starts in 64-bit long mode in ring 0
/// (the kernel then installs its own GDT, IDT and LSTAR). Needs hardware virtualization.
struct HVMDomainBuilder {
    static let paramsAddress: UInt64 = 0x7000
    static let cmdlineAddress: UInt64 = 0x8000
    static let pml4Address: UInt64 = 0x9000
    static let gdtAddress: UInt64 = 0xF000
    static let stackTop: UInt64 = 0x9_f000
    static let paramsMagic: UInt64 = 0x3130_4d56_4856_4b58   // "XKVHVM01"

    let image: ELFImage
    let physical: GuestPhysicalMemory
    let memoryBytes: UInt64
    let cmdline: String
    let uuid: UUIDValue

    /// Loads everything; returns the entry point.
    func build() throws(DomainError) -> UInt64 {
        guard !image.is32Bit else { throw .badImage("HVM domains take a 64-bit kernel here (xkv's 64-bit HVM boot)") }
        do {
            for segment in image.segments where segment.memorySize > 0 {
                let at = segment.physicalAddress
                guard at >= 0x10_0000, at < memoryBytes, segment.memorySize <= memoryBytes - at else {
                    throw DomainError.badImage("HVM kernel segment at \(at.hex) is outside 1 MiB...\(memoryBytes.hex)")
                }
                try physical.fill(at, count: Int(segment.memorySize), with: 0)
                let start = Int(segment.fileOffset)
                try physical.write(Array(image.bytes[start..<start + Int(segment.fileSize)]), at: at)
            }
            let line = Array(cmdline.utf8.prefix(1023))   // the command line the HVM kernels accept
            try physical.write(line + [0], at: Self.cmdlineAddress)
            for (i, value) in [Self.paramsMagic, Self.cmdlineAddress, UInt64(line.count), memoryBytes].enumerated() {
                try physical.store(value, at: Self.paramsAddress + UInt64(i * 8))
            }
            // Identity map of 4 GiB: PML4 -> PDPT -> four PDs of 2 MiB pages.
            let pdpt = Self.pml4Address + 0x1000
            let flags = PTE.present | PTE.writable | PTE.user
            try physical.store(pdpt | flags, at: Self.pml4Address)
            for gib in 0..<UInt64(4) {
                let pd = pdpt + 0x1000 * (gib + 1)
                try physical.store(pd | flags, at: pdpt + gib * 8)
                for i in 0..<UInt64(512) {
                    try physical.store((gib << 30 | i << 21) | flags | PTE.largePage, at: pd + i * 8)
                }
            }
            try physical.store(UInt64(0), at: Self.gdtAddress)
            try physical.store(UInt64(0x00af_9b00_0000_ffff), at: Self.gdtAddress + 8)
            try physical.store(UInt64(0x00cf_9300_0000_ffff), at: Self.gdtAddress + 16)
            let smbios = SMBIOS.tables(uuid: uuid)
            try physical.write(smbios.entry, at: SMBIOS.entryPointAddress)
            try physical.write(smbios.table, at: SMBIOS.tableAddress)
        } catch let error as DomainError {
            throw error
        } catch {
            throw .badImage("building the HVM domain failed: \(error)")
        }
        guard image.segments.contains(where: { image.entry >= $0.physicalAddress && image.entry < $0.physicalAddress + $0.memorySize }) else {
            throw .badImage("HVM kernel entry \(image.entry.hex) is outside its segments")
        }
        return image.entry
    }

    /// The vCPU in 64-bit long mode, ring 0, on the identity map, with Xen's CPUID leaves.
    static func prepare(_ vcpu: VirtualCPU, entry: UInt64, cpuid: CPUIDModel) throws(KVMError) {
        try vcpu.setCPUID(cpuid.kvmTable)
        var sregs = try vcpu.fetchSpecialRegisters()
        sregs.cr0 = 0x8005_0033
        sregs.cr3 = pml4Address
        sregs.cr4 = 0x620
        sregs.efer = 0xd00
        sregs.gdt.base = gdtAddress
        sregs.gdt.limit = 23
        sregs.idt.base = 0
        sregs.idt.limit = 0
        var cs = kvm_segment()
        cs.selector = 0x08; cs.type = 11; cs.present = 1; cs.dpl = 0; cs.s = 1; cs.l = 1; cs.g = 1; cs.limit = 0xffff_ffff
        var ds = kvm_segment()
        ds.selector = 0x10; ds.type = 3; ds.present = 1; ds.dpl = 0; ds.s = 1; ds.db = 1; ds.g = 1; ds.limit = 0xffff_ffff
        sregs.cs = cs; sregs.ss = ds; sregs.ds = ds; sregs.es = ds; sregs.fs = ds; sregs.gs = ds
        var tr = kvm_segment()
        tr.type = 11; tr.present = 1; tr.limit = 0x67
        sregs.tr = tr
        vcpu.specialRegisters = sregs
        var regs = kvm_regs()
        regs.rip = entry
        regs.rsp = stackTop
        regs.rdi = paramsAddress
        regs.rflags = 0x2
        vcpu.registers = regs
    }
}
