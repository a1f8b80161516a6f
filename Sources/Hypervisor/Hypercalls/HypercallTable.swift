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
    /// A hypercall from guest kernel mode: count it, dispatch it, return to the caller of the
    /// hypercall page (rip = rcx, rflags = r11, result in rax; every other register preserved).
    func hypercall() -> ExitOutcome {
        var regs = vcpu.registers
        let number = regs.rax
        let slot = number < UInt64(Hypercall.slots) ? Int(number) : Hypercall.slots - 1
        count { $0.hypercalls[slot] += 1 }
        let args = HypercallArguments(a1: regs.rdi, a2: regs.rsi, a3: regs.rdx, a4: regs.r10, a5: regs.r8)
        let handler = number < UInt64(Hypercall.slots) ? HypercallTable.handlers[Int(number)] : nil
        let result = handler?(self, args) ?? .error(.enosys)
        switch result {
        case .registersSet:
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
            if case .block = result { return .block }
            return .resume
        }
    }
}
