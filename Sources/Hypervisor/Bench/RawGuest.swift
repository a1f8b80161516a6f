import CKVM
import KVM

/// A minimal 64-bit guest for measuring the exit path: identity-mapped 2 MiB, code at CPL 3
/// (IOPL 3, so `out` exits to userspace directly on every host). Both the raw C baseline and
/// xkv's loop run the same code.
struct RawGuest {
    static let port: UInt16 = 0x10
    let vm: VirtualMachine
    let vcpu: VirtualCPU

    enum Code {
        /// `out %al,$0x10; jmp .-4`: one port-I/O exit per iteration.
        case portIO
        /// `syscall` to an LSTAR of `out %al,$0x10; jmp *%rcx`: what a PV hypercall costs the
        /// host before xkv's own work (the `syscall` transition plus one exit).
        case syscallThenPortIO
    }

    init(kvm: KVMSystem, code: Code = .portIO) throws(KVMError) {
        vm = try kvm.createVM()
        let memory = try vm.addMemory(guestPhysical: 0, size: 0x20_0000)
        do {
            // L4 0x1000 -> L3 0x2000 -> L2 0x3000 with one 2 MiB user page at 0.
            try memory.write(UInt64(0x2007).littleEndianBytes, at: 0x1000)
            try memory.write(UInt64(0x3007).littleEndianBytes, at: 0x2000)
            try memory.write(UInt64(0x87).littleEndianBytes, at: 0x3000)
            switch code {
            case .portIO:
                try memory.write([0xe6, UInt8(Self.port), 0xeb, 0xfc], at: 0x10000)          // out; jmp .-4
            case .syscallThenPortIO:
                try memory.write([0x0f, 0x05, 0xeb, 0xfc], at: 0x10000)                      // syscall; jmp .-4
                try memory.write([0xe6, UInt8(Self.port), 0xff, 0xe1], at: 0x11000)          // out; jmp *%rcx
            }
        } catch {
            throw KVMError(operation: "bench guest", message: "cannot write the bench guest: \(error)")
        }
        vcpu = try vm.createVCPU(id: 0)
        var sregs = try vcpu.fetchSpecialRegisters()
        sregs.cr0 = 0x8000_0031
        sregs.cr3 = 0x1000
        sregs.cr4 = 0x20
        sregs.efer = 0x500
        var cs = kvm_segment()
        cs.selector = 0x2b; cs.type = 11; cs.present = 1; cs.dpl = 3; cs.s = 1; cs.l = 1; cs.g = 1; cs.limit = 0xffff_ffff
        var ds = kvm_segment()
        ds.selector = 0x23; ds.type = 3; ds.present = 1; ds.dpl = 3; ds.s = 1; ds.db = 1; ds.g = 1; ds.limit = 0xffff_ffff
        var tr = kvm_segment()
        tr.selector = 0x30; tr.type = 11; tr.present = 1; tr.limit = 0x67; tr.base = 0x4000
        sregs.cs = cs; sregs.ss = ds; sregs.ds = ds; sregs.es = ds; sregs.fs = ds; sregs.gs = ds; sregs.tr = tr
        vcpu.specialRegisters = sregs
        if code == .syscallThenPortIO {
            sregs.efer |= 1
            vcpu.specialRegisters = sregs
            try vcpu.setMSRs([(0xc000_0081, 0x0023_0008 << 32), (0xc000_0082, 0x11000), (0xc000_0084, 0)])
        }
        var regs = kvm_regs()
        regs.rip = 0x10000
        regs.rsp = 0x1f_0000
        regs.rflags = 0x3202
        vcpu.registers = regs
        // First entry loads the state (with sync regs it travels in kvm_run).
        guard case .io = try vcpu.run() else {
            throw KVMError(operation: "bench guest", message: "the bench guest did not reach its first port-I/O exit")
        }
    }
}
