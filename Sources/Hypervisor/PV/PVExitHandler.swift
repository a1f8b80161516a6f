import CKVM
import KVM

/// What the vCPU loop does after an exit was handled.
enum ExitOutcome {
    /// Enter the guest again.
    case resume
    /// Wait for an event (SCHEDOP_block), then resume.
    case block
    /// The domain stopped (shut down or crashed): leave the loop.
    case stop
}

/// The saved state an exception stub left on xkv's ring-0 stack.
struct ExceptionFrame {
    var vector: Int
    var errorCode: UInt64?
    var rip: UInt64
    var cs: UInt64
    var rflags: UInt64
    var rsp: UInt64
    var ss: UInt64
}

extension PVVCPU {
    /// Hands one KVM exit to the part of the engine that owns it (Firecracker's vCPU loop shape).
    func handle(_ exit: VMExit) -> ExitOutcome {
        switch exit {
        case .io(let io):
            let rip = vcpu.registers.rip
            if io.port == HypervisorHole.syscallPort && (rip == HypervisorHole.lstar + 2 || rip == HypervisorHole.cstar + 2) {
                return syscallEntry()
            }
            if io.port == HypervisorHole.exceptionPort, let vector = HypervisorHole.vector(exitRIP: rip) {
                return exceptionEntry(vector: vector)
            }
            return guestPortIO(io)
        case .interrupted:
            return .resume
        case .shutdown:
            return crash("triple fault (KVM_EXIT_SHUTDOWN) at rip \(vcpu.registers.rip.hex)")
        case .internalError(let sub):
            if compat, let outcome = compatSoftwareInterrupt() { return outcome }
            return crash("KVM could not emulate an instruction (internal error \(sub)) at rip \(vcpu.registers.rip.hex)")
        case .failEntry(let reason):
            return crash("KVM could not enter the guest (hardware reason \(reason.hex))")
        case .halt:
            return crash("hlt executed in xkv's ring-0 code at rip \(vcpu.registers.rip.hex)")
        case .mmio(let access):
            return crash("access to unbacked guest-physical \(access.address.hex) at rip \(vcpu.registers.rip.hex)")
        case .systemEvent(let type):
            return crash("KVM system event \(type)")
        case .other(let reason):
            return crash("unexpected KVM exit reason \(reason)")
        }
    }

    // MARK: syscall: hypercalls from guest kernel mode

    private func syscallEntry() -> ExitOutcome {
        let cs = vcpu.specialRegisters.cs.selector
        if cs & 3 == 3 { count { $0.compensations[PVMCompensation.syscallAtCPL3.rawValue] += 1 } }
        restoreGuestSegments()
        guard kernelMode else { return routeUserSyscall() }
        return hypercall()
    }

    /// A `syscall` from guest user mode: switch to guest kernel mode and bounce to the callback
    /// registered for `syscall` (no callback: #UD at the `syscall`), as Xen's entry does.
    private func routeUserSyscall() -> ExitOutcome {
        var regs = vcpu.registers
        guard let callback = callbacks[.syscall] else {
            // rip back on the 2-byte syscall; rflags as they were before it.
            let frame = ExceptionFrame(vector: 6, errorCode: nil, rip: regs.rcx &- 2, cs: UInt64(PVVCPU.guestCS.selector),
                                       rflags: regs.r11, rsp: regs.rsp, ss: UInt64(PVVCPU.guestSS.selector))
            return bounce(frame)
        }
        let userRSP = regs.rsp
        switchMode(toKernel: true)
        // Xen's syscall frame for the guest kernel: rcx and r11 stay live, plus an iret frame
        // {rip=rcx, cs, rflags=r11, rsp, ss} for its HYPERVISOR_iret with VGCF_in_syscall.
        let stack = (kernelSP & ~0xf) &- 7 * 8
        let words: [UInt64] = [regs.rcx, regs.r11, regs.rcx, UInt64(PVVCPU.guestCS.selector) | UInt64(eventMask) << 32,
                               regs.r11, userRSP, UInt64(PVVCPU.guestSS.selector)]
        do {
            try guestWrite(words.flatMap { $0.littleEndianBytes }, at: stack)
        } catch {
            return crash("cannot write the syscall frame on the guest kernel stack at \(stack.hex): \(error)")
        }
        if callback.masksEvents { eventMask = 1 }
        regs.rsp = stack
        regs.rip = callback.address
        regs.rflags = PVVCPU.sanitize(rflags: regs.r11) & ~0x100
        vcpu.registers = regs
        count { $0.syscallsRouted += 1 }
        return .resume
    }

    // MARK: Exceptions

    private func exceptionEntry(vector: Int) -> ExitOutcome {
        let regs = vcpu.registers
        guard let frame = readExceptionFrame(vector: vector, rsp: regs.rsp) else {
            return crash("xkv's ring-0 stack is corrupt (rsp \(regs.rsp.hex)) after vector \(vector)")
        }
        guard frame.cs & 3 != 0 else {
            return crash("\(HypervisorHole.exceptionName(vector)) inside xkv's ring-0 code at rip \(frame.rip.hex)")
        }
        if compat {
            kernelMode = frame.cs & 3 != 3
            if vector == 0x82 && kernelMode { return hypercall32(resume: frame.rip, frame: frame) }
        } else {
            restoreGuestSegments()
        }
        if let outcome = emulate(frame) { return outcome }
        return bounce(frame)
    }

    private func readExceptionFrame(vector: Int, rsp: UInt64) -> ExceptionFrame? {
        let hasError = HypervisorHole.hasErrorCode(vector)
        let words = hasError ? 6 : 5
        guard rsp >= HypervisorHole.base + UInt64(HypervisorHole.Page.stack) * 4096,
              rsp + UInt64(words * 8) <= HypervisorHole.stackTop else { return nil }
        let offset = rsp - HypervisorHole.base
        let gpa = domain.memory.privateFrame(domain.memory.layout.holePages) + offset
        guard let bytes = try? domain.memory.physical.read(gpa, count: words * 8) else { return nil }
        let w = (0..<words).map { i in bytes.littleEndian(i * 8..<i * 8 + 8) }
        let e = hasError ? 1 : 0
        return ExceptionFrame(vector: vector, errorCode: hasError ? w[0] : nil, rip: w[e], cs: w[e + 1],
                              rflags: w[e + 2], rsp: w[e + 3], ss: w[e + 4])
    }

    /// Bounces an exception to the guest kernel's handler with Xen's 64-bit frame
    /// (`create_bounce_frame`): RCX, R11, [error code], RIP, CS|mask<<32, RFLAGS, RSP, SS.
    /// No handler, or a frame that cannot be written: the domain crashes, as on Xen.
    func bounce(_ frame: ExceptionFrame) -> ExitOutcome {
        if compat { return bounce32(frame) }
        let name = HypervisorHole.exceptionName(frame.vector)
        guard let entry = trapTable[frame.vector], entry.address != 0 else {
            var detail = "at rip \(frame.rip.hex)"
            if frame.vector == 14 { detail += ", cr2 \(vcpu.specialRegisters.cr2.hex)" }
            if let code = frame.errorCode { detail += ", error code \(code.hex)" }
            return crash("unhandled \(name) \(detail): no handler in the trap table")
        }
        var regs = vcpu.registers
        let fromUser = !kernelMode
        if fromUser { switchMode(toKernel: true) }
        let savedMask = eventMask
        var words: [UInt64] = [regs.rcx, regs.r11]
        if let code = frame.errorCode { words.append(code) }
        let savedFlags = (frame.rflags & ~0x200) | (savedMask == 0 ? 0x200 : 0)
        // Xen marks guest kernel context by clearing the saved CS's RPL ("indicate kernel context to guest").
        let savedCS = fromUser ? frame.cs : frame.cs & ~3
        words += [frame.rip, savedCS | UInt64(savedMask) << 32, savedFlags, frame.rsp, frame.ss]
        let base = fromUser ? kernelSP : frame.rsp
        let stack = (base & ~0xf) &- UInt64(words.count * 8)
        do {
            try guestWrite(words.flatMap { $0.littleEndianBytes }, at: stack)
        } catch {
            return crash("cannot bounce \(name) at rip \(frame.rip.hex): guest stack \(stack.hex) not writable (\(error))")
        }
        if entry.masksEvents { eventMask = 1 }
        regs.rsp = stack
        regs.rip = entry.address
        regs.rflags = PVVCPU.sanitize(rflags: frame.rflags) & ~0x4_4100   // TF, NT, RF, VM off
        vcpu.registers = regs
        count { $0.countBounce(vector: frame.vector) }
        return .resume
    }

    /// The guest's event mask (`vcpu_info.evtchn_upcall_mask` in shared_info).
    var eventMask: UInt8 {
        get { (try? domain.memory.physical.load(UInt8.self, at: vcpuInfoAddress + UInt64(SharedInfo64.upcallMask))) ?? 1 }
        set { try? domain.memory.physical.store(newValue, at: vcpuInfoAddress + UInt64(SharedInfo64.upcallMask)) }
    }

    var vcpuInfoAddress: UInt64 {
        domain.memory.privateFrame(domain.memory.layout.sharedInfo) + UInt64(id * SharedInfo64.vcpuInfoSize)
    }

    // MARK: 32-bit PV (compat)

    /// PVMCompensation.compatIntAsInternalError: on PVM, `int $N` in 32-bit ring 1 makes KVM's
    /// emulator give up; xkv decodes the `int` at rip itself. `int $0x82` from ring 1 is a
    /// hypercall; any other vector follows the DPL rule.
    private func compatSoftwareInterrupt() -> ExitOutcome? {
        let regs = vcpu.registers
        let sregs = vcpu.specialRegisters
        guard let bytes = try? guestRead(regs.rip, count: 2), bytes[0] == 0xcd || bytes[0] == 0xcc else { return nil }
        count { $0.compensations[PVMCompensation.compatIntAsInternalError.rawValue] += 1 }
        kernelMode = sregs.cs.selector & 3 != 3
        if bytes[0] == 0xcc {
            // int3: #BP past it, whatever the ring (its gate has DPL 3).
            return bounce(ExceptionFrame(vector: 3, errorCode: nil, rip: regs.rip &+ 1, cs: UInt64(sregs.cs.selector),
                                         rflags: regs.rflags, rsp: regs.rsp, ss: UInt64(sregs.ss.selector)))
        }
        if bytes[1] == 0x82 && kernelMode { return hypercall32(resume: regs.rip &+ 2, frame: nil) }
        let frame = ExceptionFrame(vector: Int(bytes[1]), errorCode: nil, rip: regs.rip, cs: UInt64(sregs.cs.selector),
                                   rflags: regs.rflags, rsp: regs.rsp, ss: UInt64(sregs.ss.selector))
        return softwareInterrupt(Int(bytes[1]), at: regs.rip, length: 2, frame: frame)
    }

    /// Bounces an exception to a 32-bit guest kernel with Xen's compat frame: from ring 3, on the
    /// stack_switch stack: [error code], EIP, CS (event mask in bits 16-23), EFLAGS, ESP, SS;
    /// from ring 1, on the current stack: [error code], EIP, CS, EFLAGS. A null or unusable
    /// handler selector crashes the domain, as on Xen.
    func bounce32(_ frame: ExceptionFrame) -> ExitOutcome {
        let name = HypervisorHole.exceptionName(frame.vector)
        guard let entry = trapTable[frame.vector], entry.address != 0, entry.cs & ~3 != 0 else {
            var detail = "at eip \(frame.rip.hex)"
            if frame.vector == 14 { detail += ", cr2 \(vcpu.specialRegisters.cr2.hex)" }
            if let code = frame.errorCode { detail += ", error code \(code.hex)" }
            return crash("unhandled \(name) \(detail): no handler in the trap table")
        }
        guard let codeSegment = segment(forSelector: entry.cs, code: true) else {
            return crash("\(name) handler selector \(entry.cs) is not a usable ring-1 code segment")
        }
        let fromUser = frame.cs & 3 == 3
        let savedMask = UInt64(eventMask)
        var words: [UInt64] = []
        if let code = frame.errorCode { words.append(code) }
        let savedFlags = (frame.rflags & ~0x200) | (savedMask == 0 ? 0x200 : 0)
        words += [frame.rip & 0xffff_ffff, (frame.cs & 0xffff) | savedMask << 16, savedFlags & 0xffff_ffff]
        if fromUser { words += [frame.rsp & 0xffff_ffff, frame.ss & 0xffff] }
        let base = fromUser ? kernelSP : frame.rsp
        let stack = (base &- UInt64(words.count * 4)) & 0xffff_ffff
        let stackSelector = fromUser ? kernelSS : UInt16(truncatingIfNeeded: frame.ss)
        guard let stackSegment = segment(forSelector: stackSelector, code: false) else {
            return crash("cannot bounce \(name): kernel stack selector \(stackSelector) is not usable (stack_switch)")
        }
        do {
            try guestWrite(words.flatMap { UInt32(truncatingIfNeeded: $0).littleEndianBytes }, at: stack)
        } catch {
            return crash("cannot bounce \(name) at eip \(frame.rip.hex): kernel stack \(stack.hex) not writable (\(error))")
        }
        if entry.masksEvents { eventMask = 1 }
        var regs = vcpu.registers
        regs.rsp = stack
        regs.rip = entry.address
        regs.rflags = PVVCPU.sanitize(rflags: frame.rflags) & ~0x4_4100
        vcpu.registers = regs
        restoreGuestSegments(cs: codeSegment, ss: stackSegment)
        kernelMode = true
        count { $0.countBounce(vector: frame.vector) }
        if frame.vector == 0x80 { count { $0.syscallsRouted += 1 } }
        return .resume
    }

    // MARK: Guest port I/O

    /// Port I/O that reached xkv from guest code: only the syscall entry's port can (the TSS
    /// bitmap denies the rest, which fault through the IDT). Xen answers #GP(0).
    private func guestPortIO(_ io: PortIO) -> ExitOutcome {
        let regs = vcpu.registers
        let before = (try? guestRead(regs.rip &- 4, count: 4)) ?? []
        guard let length = PVMCompensation.portIOInstructionLength(endingWith: before) else {
            return crash("port I/O to \(io.port) at rip \(regs.rip.hex) that xkv cannot decode")
        }
        count { $0.compensations[PVMCompensation.entryPortFromGuest.rawValue] += 1 }
        restoreGuestSegments()
        return bounce(ExceptionFrame(vector: 13, errorCode: 0, rip: regs.rip &- UInt64(length), cs: UInt64(PVVCPU.guestCS.selector),
                                     rflags: regs.rflags, rsp: regs.rsp, ss: UInt64(PVVCPU.guestSS.selector)))
    }

    /// Crashes the whole domain (its own fault; nothing else is touched) and logs why.
    func crash(_ reason: String) -> ExitOutcome {
        if domain.shutdownReason == nil { checkpoint(.crash, memory: true) }
        domain.crash(reason: reason, vcpu: id)
        return .stop
    }
}

extension FixedWidthInteger {
    /// The value's bytes, least significant first (the guest's byte order).
    var littleEndianBytes: [UInt8] { (0..<Self.bitWidth / 8).map { UInt8(truncatingIfNeeded: self >> (8 * $0)) } }
}

extension Array where Element == UInt8 {
    /// The little-endian integer (the guest's byte order) in `range` of these bytes, at most 8 bytes.
    func littleEndian(_ range: Range<Int>) -> UInt64 {
        self[range].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
}
