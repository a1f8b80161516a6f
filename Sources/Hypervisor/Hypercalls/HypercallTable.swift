import CKVM
import KVM

/// The arguments of one hypercall (64-bit PV: rdi, rsi, rdx, r10, r8).
struct HypercallArguments {
    var a1: UInt64, a2: UInt64, a3: UInt64, a4: UInt64, a5: UInt64
}

/// What a hypercall handler asks the vCPU loop to do.
enum HypercallResult {
    /// Return this value in rax.
    case value(UInt64)
    /// Return -errno.
    case error(XenErrno)
    /// The handler set the registers itself (iret).
    case registersSet
    /// Return 0 and block until an event arrives.
    case block
    /// The domain stopped.
    case stop

    static let success = HypercallResult.value(0)
}

typealias HypercallHandler = @Sendable (PVVCPU, HypercallArguments) -> HypercallResult

/// The dispatch table, as data: hypercall number to handler. Numbers not here answer -ENOSYS.
enum HypercallTable {
    static let handlers: [HypercallHandler?] = {
        var table = [HypercallHandler?](repeating: nil, count: Hypercall.slots)
        let entries: [(Hypercall, HypercallHandler)] = [
            (.setTrapTable, { $0.setTrapTable($1) }),
            (.mmuUpdate, { $0.mmuUpdate($1) }),
            (.memoryOp, { $0.memoryOp($1) }),
            (.setGDT, { $0.setGDT($1) }),
            (.stackSwitch, { $0.stackSwitch($1) }),
            (.setCallbacks, { $0.setCallbacks($1) }),
            (.schedOpCompat, { $0.schedOpCompat($1) }),
            (.updateVAMapping, { $0.updateVAMapping($1) }),
            (.xenVersion, { $0.xenVersion($1) }),
            (.consoleIO, { $0.consoleIO($1) }),
            (.grantTableOp, { $0.grantTableOp($1) }),
            (.vmAssist, { $0.vmAssist($1) }),
            (.iret, { $0.iret($1) }),
            (.setSegmentBase, { $0.setSegmentBase($1) }),
            (.mmuextOp, { $0.mmuextOp($1) }),
            (.schedOp, { $0.schedOp($1) }),
            (.callbackOp, { $0.callbackOp($1) }),
            (.eventChannelOp, { $0.eventChannelOp($1) }),
        ]
        for (call, handler) in entries { table[Int(call.rawValue)] = handler }
        return table
    }()
}

extension PVVCPU {
    /// Counts and dispatches hypercall `number`.
    private func dispatch(_ number: UInt64, _ args: HypercallArguments) -> HypercallResult {
        let slot = number < UInt64(Hypercall.slots) ? Int(number) : Hypercall.slots - 1
        count { $0.countHypercall(slot: slot) }
        if domain.firstHypercallAt.load(ordering: .relaxed) == 0 {
            domain.firstHypercallAt.store(ckvm_monotonic_ns(), ordering: .relaxed)
        }
        let handler = number < UInt64(Hypercall.slots) ? HypercallTable.handlers[Int(number)] : nil
        return handler?(self, args) ?? .error(.enosys)
    }

    /// A 32-bit hypercall (`int $0x82` from ring 1): eax = number, ebx ecx edx esi edi = args,
    /// result in eax, execution continues at `resume` (past the `int`).
    func hypercall32(resume: UInt64, frame: ExceptionFrame?) -> ExitOutcome {
        let regs = vcpu.registers
        let low = { (v: UInt64) in v & 0xffff_ffff }
        let args = HypercallArguments(a1: low(regs.rbx), a2: low(regs.rcx), a3: low(regs.rdx), a4: low(regs.rsi), a5: low(regs.rdi))
        let result = dispatch(low(regs.rax), args)
        var out = vcpu.registers
        switch result {
        case .registersSet:
            takeHypercallCheckpoint()   // iret: the registers are the frame it returned to
            return .resume
        case .stop: return .stop
        case .value(let v): out.rax = v & 0xffff_ffff
        case .error(let e): out.rax = e.result & 0xffff_ffff
        case .block: out.rax = 0
        }
        out.rip = resume
        if let frame {
            // Came through xkv's 0x82 gate (hardware): the CPU frame holds the guest's stack and flags.
            out.rsp = frame.rsp
            out.rflags = PVVCPU.sanitize(rflags: frame.rflags)
            restoreGuestSegments(cs: PVVCPU.ring1CS, ss: PVVCPU.ring1DS)
        }
        vcpu.registers = out
        takeHypercallCheckpoint()
        if case .block = result { return .block }
        return .resume
    }

    /// A hypercall from guest kernel mode: count it, dispatch it, return to the caller of the
    /// hypercall page (rip = rcx, rflags = r11, result in rax; every other register preserved).
    func hypercall() -> ExitOutcome {
        var regs = vcpu.registers
        let args = HypercallArguments(a1: regs.rdi, a2: regs.rsi, a3: regs.rdx, a4: regs.r10, a5: regs.r8)
        let result = dispatch(regs.rax, args)
        switch result {
        case .registersSet:
            takeHypercallCheckpoint()   // iret: the registers are the frame it returned to
            return .resume
        case .stop:
            return .stop
        case .value, .error, .block:
            regs = vcpu.registers   // handlers may have changed other state (e.g. segments)
            switch result {
            case .value(let v): regs.rax = v
            case .error(let e): regs.rax = e.result
            default: regs.rax = 0
            }
            regs.rip = regs.rcx
            regs.rflags = PVVCPU.sanitize(rflags: regs.r11)
            vcpu.registers = regs
            takeHypercallCheckpoint()
            if case .block = result { return .block }
            return .resume
        }
    }

    /// A checkpoint at the hypercall's return (registers as the guest will see them).
    private func takeHypercallCheckpoint() {
        guard domain.takesCheckpoints else { return }
        let n = domain.checkpoints.add(1, ordering: .relaxed).newValue
        checkpoint(.hypercall, memory: n % Domain.memoryDigestInterval == 0)
    }
}
