import CKVM
import KVM

/// The initial state of a 64-bit PV vCPU, as Xen's builder leaves it: long mode, paging on the
/// builder's L4, guest kernel mode in ring 3 with Xen's flat selectors, rip at the entry point,
/// rsp at the top of the boot stack, rsi at start_info, and xkv's GDT, IDT, TSS and syscall
/// entry loaded.
enum PVBoot {
    static let efer: UInt64 = 0xd01            // SCE | LME | LMA | NXE
    static let cr0: UInt64 = 0x8005_0033       // PE MP ET NE WP PG
    static let cr4: UInt64 = 0x620             // PAE OSFXSR OSXMMEXCPT
    static let msrSTAR: UInt32 = 0xc000_0081, msrLSTAR: UInt32 = 0xc000_0082
    static let msrCSTAR: UInt32 = 0xc000_0083, msrSFMASK: UInt32 = 0xc000_0084
    static let msrKernelGSBase: UInt32 = 0xc000_0102
    /// Xen's syscall flag mask: TF, IF, DF, NT, RF, VM (AC too).
    static let sfmask: UInt64 = 0x4_7700

    static func prepare(_ vcpu: VirtualCPU, layout: PVBootLayout, cpuid: CPUIDModel, boot: Bool) throws(KVMError) {
        try vcpu.setCPUID(cpuid.kvmTable)
        var sregs = try vcpu.fetchSpecialRegisters()
        sregs.cr0 = cr0
        sregs.cr3 = layout.hardwareRoot
        sregs.cr4 = cr4
        sregs.efer = efer
        sregs.gdt.base = HypervisorHole.gdtAddress
        sregs.gdt.limit = 0xffff
        sregs.idt.base = HypervisorHole.idtAddress
        sregs.idt.limit = 0xfff
        if layout.compat {
            // 32-bit PV: the kernel starts in ring 1 with FLAT_RING1_CS/DS in every segment register.
            sregs.cs = PVVCPU.ring1CS
            sregs.ss = PVVCPU.ring1DS
            sregs.ds = PVVCPU.ring1DS; sregs.es = PVVCPU.ring1DS; sregs.fs = PVVCPU.ring1DS; sregs.gs = PVVCPU.ring1DS
        } else {
            sregs.cs = PVVCPU.guestCS
            sregs.ss = PVVCPU.guestSS
            var null = kvm_segment()
            null.unusable = 1
            sregs.ds = null; sregs.es = null; sregs.fs = null; sregs.gs = null
        }
        var ldt = kvm_segment()
        ldt.unusable = 1
        ldt.type = 2
        sregs.ldt = ldt
        var tr = kvm_segment()
        tr.selector = HypervisorHole.Selector.tss
        tr.base = HypervisorHole.tssAddress
        tr.limit = HypervisorHole.tssLimit
        tr.type = 11
        tr.present = 1
        sregs.tr = tr
        vcpu.specialRegisters = sregs
        try vcpu.setMSRs([
            (msrSTAR, UInt64(HypervisorHole.Selector.ring3CS32) << 48 | UInt64(HypervisorHole.Selector.hypervisorCS) << 32),
            (msrLSTAR, HypervisorHole.lstar),
            (msrCSTAR, HypervisorHole.cstar),
            (msrSFMASK, sfmask),
            (msrKernelGSBase, 0),
        ])
        var regs = kvm_regs()
        regs.rip = layout.entry
        regs.rsp = layout.stackTop
        regs.rsi = layout.startInfo
        regs.rflags = 0x202
        vcpu.registers = regs
    }
}
