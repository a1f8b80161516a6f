import CKVM
import KVM

/// Trap table, callbacks, kernel stack, segment bases and `iret` (`pv/traps.c`, `pv/callback.c`,
/// `pv/iret.c`, `pv/misc-hypercalls.c`).
extension PVVCPU {
    /// Xen keeps going until an entry with address 0; xkv bounds a runaway table.
    static let maxTrapTableEntries = 4096

    /// `set_trap_table(table)`: replaces this vCPU's virtual IDT entry by entry. NULL clears it.
    /// A selector with an RPL below the guest kernel's ring is raised to ring 3, not rejected;
    /// a non-canonical handler is -EINVAL (the entries before it stay registered, as on Xen).
    func setTrapTable(_ a: HypercallArguments) -> HypercallResult {
        guard a.a1 != 0 else {
            published.withLock { $0.trapTable.clear() }
            return .success
        }
        let size = compat ? TrapInfo32.size : TrapInfo64.size
        for i in 0..<Self.maxTrapTableEntries {
            let at = a.a1 &+ UInt64(i * size)
            guard let raw = try? guestRead(at, count: size) else { return .error(.efault) }
            let address = compat
                ? raw.littleEndian(TrapInfo32.address..<TrapInfo32.address + 4)
                : raw.littleEndian(TrapInfo64.address..<TrapInfo64.address + 8)
            if address == 0 { return .success }
            guard GuestVirtualMemory.isCanonical(address), !HypervisorHole.contains(address) else { return .error(.einval) }
            var cs = UInt16(raw[TrapInfo64.cs]) | UInt16(raw[TrapInfo64.cs + 1]) << 8
            // An RPL below the guest kernel's ring is raised to it: ring 1 (32-bit) or ring 3 (64-bit).
            cs = compat ? (cs & 3 == 0 ? cs | 1 : cs) : cs | 3
            let entry = TrapEntry(vector: raw[TrapInfo64.vector], flags: raw[TrapInfo64.flags], cs: cs, address: address)
            published.withLock { $0.trapTable[Int(entry.vector)] = entry }
            if compat && entry.vector == 0x80 { installInt80Gate() }
        }
        return .error(.e2big)
    }

    /// `callback_op(cmd, arg)`: register (0) or unregister (1, nmi only) a callback.
    func callbackOp(_ a: HypercallArguments) -> HypercallResult {
        let size = compat ? CallbackRegister32.size : CallbackRegister64.size
        guard let raw = try? guestRead(a.a2, count: a.a1 == 0 ? size : 4) else { return .error(.efault) }
        let typeValue = UInt16(raw[0]) | UInt16(raw[1]) << 8
        guard let type = CallbackType(rawValue: typeValue) else { return .error(.einval) }
        switch a.a1 {
        case 0:
            let flags = UInt16(raw[2]) | UInt16(raw[3]) << 8
            // 32-bit: {cs, eip}; the handler runs in the flat ring-1 segment it names.
            let address = compat
                ? raw.littleEndian(CallbackRegister32.eip..<CallbackRegister32.eip + 4)
                : raw.littleEndian(8..<16)
            guard GuestVirtualMemory.isCanonical(address), !HypervisorHole.contains(address) else { return .error(.einval) }
            callbacks[type] = Callback(address: address, masksEvents: flags & 1 != 0)
            return .success
        case 1:
            guard type == .nmi else { return .error(.einval) }
            callbacks[type] = nil
            return .success
        default:
            return .error(.enosys)
        }
    }

    /// `set_callbacks(event, failsafe, syscall)`, the older 64-bit interface.
    func setCallbacks(_ a: HypercallArguments) -> HypercallResult {
        if compat {
            // (event_cs, event_eip, failsafe_cs, failsafe_eip)
            callbacks[.event] = Callback(address: a.a2, masksEvents: false)
            callbacks[.failsafe] = Callback(address: a.a4, masksEvents: true)
            return .success
        }
        for address in [a.a1, a.a2, a.a3] where !GuestVirtualMemory.isCanonical(address) || HypervisorHole.contains(address) {
            return .error(.einval)
        }
        callbacks[.event] = Callback(address: a.a1, masksEvents: false)
        callbacks[.failsafe] = Callback(address: a.a2, masksEvents: true)
        callbacks[.syscall] = Callback(address: a.a3, masksEvents: false)
        return .success
    }

    /// `stack_switch(ss, sp)`: the kernel stack used when a trap or syscall enters guest kernel mode.
    func stackSwitch(_ a: HypercallArguments) -> HypercallResult {
        let ss = UInt16(truncatingIfNeeded: a.a1)
        kernelSS = compat ? (ss & 3 == 0 ? ss | 1 : ss) : ss | 3
        kernelSP = a.a2
        // The ring-0 0x80 path builds its frame on this stack.
        if compat, installedGate != nil { installInt80Gate() }
        return .success
    }

    /// `set_segment_base(which, base)`: fs, user gs, kernel gs.
    func setSegmentBase(_ a: HypercallArguments) -> HypercallResult {
        guard !compat else { return .error(.enosys) }   // 64-bit PV only
        let base = a.a2
        var sregs = vcpu.specialRegisters
        switch a.a1 {
        case 0: // SEGBASE_FS
            guard GuestVirtualMemory.isCanonical(base) else { return .error(.einval) }
            sregs.fs.base = base
        case 1: // SEGBASE_GS_USER
            guard GuestVirtualMemory.isCanonical(base) else { return .error(.einval) }
            if kernelMode { gsBaseUser = base } else { sregs.gs.base = base }
        case 2: // SEGBASE_GS_KERNEL
            guard GuestVirtualMemory.isCanonical(base) else { return .error(.einval) }
            if kernelMode { sregs.gs.base = base } else { gsBaseKernel = base }
        case 3: // SEGBASE_GS_USER_SEL: load a user gs selector; only null is supported
            guard base & 0xfffc == 0 else { return .error(.einval) }
            if kernelMode { gsBaseUser = 0 } else { sregs.gs.base = 0 }
        default:
            return .error(.einval)
        }
        vcpu.specialRegisters = sregs
        return .success
    }

    /// `iret` (23): pops Xen's `iret_context` from the guest stack. A cs with RPL 3 returns to
    /// guest user mode (kernel context is RPL 0 in Xen's frames), which needs a user page-table
    /// base; the event mask becomes !IF.
    /// A frame that cannot be read crashes the domain, as on Xen.
    func iret(_ a: HypercallArguments) -> HypercallResult {
        guard !compat else { return .error(.enosys) }   // 32-bit guests return with a real iret from ring 1
        var regs = vcpu.registers
        guard let raw = try? guestRead(regs.rsp, count: IretContext64.size) else {
            _ = crash("HYPERVISOR_iret with an unreadable frame at \(regs.rsp.hex)")
            return .stop
        }
        func word(_ offset: Int) -> UInt64 { raw.littleEndian(offset..<offset + 8) }
        let cs = UInt16(truncatingIfNeeded: word(IretContext64.cs)) | 3
        let ss = UInt16(truncatingIfNeeded: word(IretContext64.ss)) | 3
        let rip = word(IretContext64.rip), rsp = word(IretContext64.rsp)
        guard GuestVirtualMemory.isCanonical(rip), !HypervisorHole.contains(rip) else {
            _ = crash("HYPERVISOR_iret to a bad rip \(rip.hex)")
            return .stop
        }
        guard let codeSegment = segment(forSelector: cs, code: true), segment(forSelector: ss, code: false) != nil else {
            _ = crash("HYPERVISOR_iret with unusable selectors cs \(cs) ss \(ss)")
            return .stop
        }
        // Bounce frames carry RPL 0 for guest kernel context (Xen's "indicate kernel context to
        // guest"), so RPL 3 here means a return to guest user mode.
        if kernelMode && word(IretContext64.cs) & 3 == 3 {
            guard userBase != 0 else {
                _ = crash("HYPERVISOR_iret to user mode without a user page table (NEW_USER_BASEPTR)")
                return .stop
            }
            switchMode(toKernel: false)
        }
        regs = vcpu.registers
        regs.rax = word(IretContext64.rax)
        let rflags = word(IretContext64.rflags)
        if word(IretContext64.flags) & IretContext64.inSyscall == 0 {
            regs.r11 = word(IretContext64.r11)
            regs.rcx = word(IretContext64.rcx)
        } else {
            // Xen returns through sysret: the guest sees rcx = rip and r11 = rflags.
            regs.rcx = rip
            regs.r11 = PVVCPU.sanitize(rflags: rflags)
        }
        regs.rip = rip
        regs.rsp = rsp
        regs.rflags = PVVCPU.sanitize(rflags: rflags)
        vcpu.registers = regs
        restoreGuestSegments(cs: codeSegment)
        eventMask = rflags & 0x200 == 0 ? 1 : 0
        return .registersSet
    }

    /// A KVM segment for a guest selector, from Xen's reserved entries or the guest's GDT (set_gdt).
    func segment(forSelector selector: UInt16, code: Bool) -> kvm_segment? {
        if compat {
            let flat: [(UInt16, kvm_segment, Bool)] = [
                (HypervisorHole.Selector.ring1CS, PVVCPU.ring1CS, true), (HypervisorHole.Selector.ring1DS, PVVCPU.ring1DS, false),
                (HypervisorHole.Selector.compatRing3CS, PVVCPU.ring3CS32, true), (HypervisorHole.Selector.compatRing3DS, PVVCPU.ring3DS32, false),
            ]
            if let match = flat.first(where: { $0.0 & ~3 == selector & ~3 }) {
                var segment = match.1
                segment.selector = selector
                return match.2 == code ? segment : nil
            }
        } else {
            if selector & ~3 == HypervisorHole.Selector.ring3CS64 & ~3 { return code ? PVVCPU.guestCS : nil }
            if selector & ~3 == HypervisorHole.Selector.ring3DS & ~3 { return code ? nil : PVVCPU.guestSS }
        }
        guard selector & 4 == 0, Int(selector >> 3) < HypervisorHole.Selector.firstReservedEntry, selector >= 8 else { return nil }
        let gdt = domain.memory.privateFrame(domain.memory.layout.holePages + UInt64(HypervisorHole.Page.gdt))
        guard let d = try? domain.memory.physical.load(UInt64.self, at: gdt + UInt64(selector & ~7)) else { return nil }
        let present = d >> 47 & 1 == 1, s = d >> 44 & 1 == 1, dpl = d >> 45 & 3, type = UInt8(d >> 40 & 0xf)
        let isCode = type & 8 != 0
        guard present, s, dpl == 3 || (compat && dpl == 1), isCode == code, code || type & 2 != 0 else { return nil }
        var seg = kvm_segment()
        seg.selector = selector
        seg.base = (d >> 16 & 0xff_ffff) | (d >> 56 & 0xff) << 24
        seg.limit = UInt32(truncatingIfNeeded: (d & 0xffff) | (d >> 48 & 0xf) << 16)
        seg.g = UInt8(d >> 55 & 1)
        if seg.g == 1 { seg.limit = seg.limit << 12 | 0xfff }
        seg.type = type; seg.present = 1; seg.dpl = UInt8(dpl); seg.s = 1
        seg.l = UInt8(d >> 53 & 1); seg.db = UInt8(d >> 54 & 1); seg.avl = UInt8(d >> 52 & 1)
        return seg
    }
}
