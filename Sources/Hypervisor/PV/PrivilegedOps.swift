import CKVM
import KVM

/// The few instructions Xen emulates for a PV kernel instead of bouncing the fault
/// (`pv/emul-priv-op.c`, `pv/emul-inv-op.c`): CPUID behind the forced-emulation prefix and
/// reads of cr3.
extension PVVCPU {
    /// `ud2; .ascii "xen"` then `cpuid`.
    static let forcedEmulationPrefix: [UInt8] = [0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, 0xa2]

    /// Emulates the faulting instruction if Xen would; nil means "bounce it".
    func emulate(_ frame: ExceptionFrame) -> ExitOutcome? {
        switch frame.vector {
        case 6:
            if let bytes = try? guestRead(frame.rip, count: 7), bytes == Self.forcedEmulationPrefix {
                return emulateCPUID(frame)
            }
            // PVMCompensation.int3AsUD: on PVM a compat `int3` raises #UD on it; Xen delivers #BP past it.
            if compat, let bytes = try? guestRead(frame.rip, count: 1), bytes[0] == 0xcc {
                count { $0.compensations[PVMCompensation.int3AsUD.rawValue] += 1 }
                var breakpoint = frame
                breakpoint.vector = 3
                breakpoint.rip = frame.rip &+ 1
                return bounce(breakpoint)
            }
            // PVMCompensation.softwareInterruptAsUD: on PVM `int $N` at CPL 3 raises #UD on the int.
            if let bytes = try? guestRead(frame.rip, count: 2), bytes[0] == 0xcd {
                count { $0.compensations[PVMCompensation.softwareInterruptAsUD.rawValue] += 1 }
                return softwareInterrupt(Int(bytes[1]), at: frame.rip, length: 2, frame: frame)
            }
            return nil
        case 13 where frame.errorCode.map({ $0 & 2 != 0 }) == true:
            // `int $N` through a gate of too low a DPL in xkv's IDT: the hardware says which vector.
            let vector = Int((frame.errorCode ?? 0) >> 3) & 0xff
            guard let bytes = try? guestRead(frame.rip, count: 2), bytes == [0xcd, UInt8(vector)] else { return nil }
            return softwareInterrupt(vector, at: frame.rip, length: 2, frame: frame)
        case 0x80:
            // xkv's 0x80 gate has DPL 3: a guest `int $0x80` arrives with rip past the int.
            return softwareInterrupt(0x80, at: frame.rip &- 2, length: 2, frame: frame)
        case 13 where frame.errorCode == 0:
            return emulatePrivileged(frame)
        case 14:
            // The guest reads cr2 from its vcpu_info (64-bit PV has no real cr2 access); the
            // error code reflects guest kernel versus user mode, not the hardware ring.
            let cr2 = vcpu.specialRegisters.cr2
            if compat {
                // compat vcpu_info: arch.cr2 is a u32 at offset 8; the CPU's U/S bit is already the guest's ring.
                try? domain.memory.physical.store(UInt32(truncatingIfNeeded: cr2), at: vcpuInfoAddress + 8)
                return bounce(frame)
            }
            try? domain.memory.physical.store(cr2, at: vcpuInfoAddress + UInt64(SharedInfo64.cr2))
            var adjusted = frame
            if kernelMode, let code = frame.errorCode { adjusted.errorCode = code & ~4 }
            return bounce(adjusted)
        default:
            return nil
        }
    }

    /// `int $N` from the guest, Xen's rule: delivered through the virtual IDT when the entry's DPL
    /// is at least the caller's ring (1 for guest kernel, 3 for guest user), with rip past the
    /// `int`; otherwise #GP with error code (N << 3) | 2 and rip on the `int`.
    func softwareInterrupt(_ vector: Int, at rip: UInt64, length: UInt64, frame: ExceptionFrame) -> ExitOutcome {
        let callerRing = kernelMode ? 1 : 3
        var delivered = frame
        if let entry = trapTable[vector], entry.address != 0, entry.dpl >= callerRing {
            delivered.vector = vector
            delivered.errorCode = nil
            delivered.rip = rip &+ length
        } else {
            delivered.vector = 13
            delivered.errorCode = UInt64(vector) << 3 | 2
            delivered.rip = rip
        }
        return bounce(delivered)
    }

    private func emulateCPUID(_ frame: ExceptionFrame) -> ExitOutcome {
        var regs = vcpu.registers
        let leaf = domain.cpuid.leaf(UInt32(truncatingIfNeeded: regs.rax), UInt32(truncatingIfNeeded: regs.rcx), pv: true)
        regs.rax = UInt64(leaf.eax); regs.rbx = UInt64(leaf.ebx); regs.rcx = UInt64(leaf.ecx); regs.rdx = UInt64(leaf.edx)
        resume(&regs, frame: frame, advance: 7)
        count { $0.emulations["cpuid", default: 0] += 1 }
        return .resume
    }

    private func emulatePrivileged(_ frame: ExceptionFrame) -> ExitOutcome? {
        guard let bytes = try? guestRead(frame.rip, count: 4) else { return nil }
        if compat && bytes[0] == 0xcf && frame.cs & 3 == 1 { return emulateCompatIret(frame) }
        // mov %cr3, %reg: [REX] 0f 20 /r with mod=11, reg=3.
        var i = 0
        var rexB = false
        if bytes[0] & 0xf0 == 0x40 { rexB = bytes[0] & 1 != 0; i = 1 }
        guard bytes[i] == 0x0f, bytes[i + 1] == 0x20, bytes[i + 2] & 0xf8 == 0xd8 else { return nil }
        let register = Int(bytes[i + 2] & 7) + (rexB ? 8 : 0)
        var regs = vcpu.registers
        let base = kernelMode ? kernelBase : (userBase != 0 ? userBase : kernelBase)
        regs.setGPR(register, base)
        resume(&regs, frame: frame, advance: UInt64(i + 3))
        count { $0.emulations["mov_from_cr3", default: 0] += 1 }
        return .resume
    }

    /// `iret` in 32-bit ring 1, which PVM answers with #GP(0) (PVMCompensation.compatIretAsGP).
    /// xkv's ring-0 code emulates the flat-selector cases without an exit; this is the general
    /// case, with the guest's own GDT selectors. IF and IOPL keep their values (CPL 1 cannot
    /// change them). A frame that names no usable segment gets the guest the #GP it would see.
    private func emulateCompatIret(_ frame: ExceptionFrame) -> ExitOutcome? {
        let esp = frame.rsp & 0xffff_ffff
        func u32(_ b: [UInt8], _ i: Int) -> UInt64 { (0..<4).reduce(UInt64(0)) { $0 | UInt64(b[i + $1]) << (8 * UInt64($1)) } }
        guard let head = try? guestRead(esp, count: 12) else { return nil }
        let eip = u32(head, 0), cs = UInt16(truncatingIfNeeded: u32(head, 4)), eflags = u32(head, 8)
        guard cs & 3 == 1 || cs & 3 == 3, let codeSegment = segment(forSelector: cs, code: true) else { return nil }
        var regs = vcpu.registers
        var stackSegment: kvm_segment
        if cs & 3 == 3 {
            guard let tail = try? guestRead(esp + 12, count: 8) else { return nil }
            let ss = UInt16(truncatingIfNeeded: u32(tail, 4))
            guard ss & 3 == 3, let segment = segment(forSelector: ss, code: false) else { return nil }
            stackSegment = segment
            regs.rsp = u32(tail, 0)
            kernelMode = false
        } else {
            guard let segment = segment(forSelector: UInt16(truncatingIfNeeded: frame.ss), code: false) else { return nil }
            stackSegment = segment
            regs.rsp = esp + 12
        }
        regs.rip = eip
        regs.rflags = PVVCPU.sanitize(rflags: eflags)
        vcpu.registers = regs
        restoreGuestSegments(cs: codeSegment, ss: stackSegment)
        count { $0.compensations[PVMCompensation.compatIretAsGP.rawValue] += 1 }
        return .resume
    }

    /// Continues the guest after an emulated instruction at `frame.rip`.
    private func resume(_ regs: inout kvm_regs, frame: ExceptionFrame, advance: UInt64) {
        regs.rip = frame.rip &+ advance
        regs.rsp = frame.rsp
        regs.rflags = PVVCPU.sanitize(rflags: frame.rflags)
        vcpu.registers = regs
    }
}

extension kvm_regs {
    /// Sets general-purpose register `n` in x86 encoding order (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8...).
    mutating func setGPR(_ n: Int, _ value: UInt64) {
        switch n {
        case 0: rax = value
        case 1: rcx = value
        case 2: rdx = value
        case 3: rbx = value
        case 4: rsp = value
        case 5: rbp = value
        case 6: rsi = value
        case 7: rdi = value
        case 8: r8 = value
        case 9: r9 = value
        case 10: r10 = value
        case 11: r11 = value
        case 12: r12 = value
        case 13: r13 = value
        case 14: r14 = value
        default: r15 = value
        }
    }
}
