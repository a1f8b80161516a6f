import CKVM
import KVM

/// Page-table writes and TLB flushes made by the vCPU itself, in ring 0, through xkv's direct map.
///
/// KVM caches the guest's translations: hardware in its TLB, PVM in shadow page tables that it
/// keeps in step by trapping the guest's own writes to page-table pages. A write from the host
/// side of guest memory is invisible to both, and KVM has no "flush the guest's TLB" call. So,
/// as Xen writes PTEs and flushes from its own ring 0, xkv runs a few bytes of ring-0 code on
/// the vCPU (`HypervisorHole.Service`): the write traps into KVM's shadow MMU where there is
/// one, and `invlpg`/cr3 reloads are real. Each run costs one extra exit.
extension PVVCPU {
    static let hypervisorCS: kvm_segment = {
        var s = kvm_segment()
        s.selector = HypervisorHole.Selector.hypervisorCS
        s.type = 11; s.present = 1; s.dpl = 0; s.s = 1; s.l = 1; s.g = 1; s.limit = 0xffff_ffff
        return s
    }()
    static let hypervisorSS: kvm_segment = {
        var s = kvm_segment()
        s.selector = HypervisorHole.Selector.hypervisorDS
        s.type = 3; s.present = 1; s.dpl = 0; s.s = 1; s.db = 1; s.g = 1; s.limit = 0xffff_ffff
        return s
    }()

    /// Writes one page-table entry at guest-physical `address` (a guest RAM frame) and drops the
    /// translation of `invalidating`, or every translation when nil.
    func writePageTableEntry(_ value: UInt64, at address: UInt64, invalidating va: UInt64? = nil,
                             privateFrame: Bool = false) throws(ServiceError) {
        let limit = privateFrame ? domain.memory.privateEnd : domain.memory.nrPages * 4096
        guard address < limit, address & 7 == 0 else { throw .badAddress(address) }
        let target = HypervisorHole.directMapBase + address
        if let va {
            try runService(.writeEntryInvalidatePage, rdi: target, rdx: value, rsi: va)
        } else {
            try runService(.writeEntryFlushAll, rdi: target, rdx: value, rsi: 0)
        }
        count { $0.emulations["ring0_pte_write", default: 0] += 1 }
    }

    /// Drops every cached translation of the current address space.
    func flushTLB() throws(ServiceError) {
        try runService(.flushAll, rdi: 0, rdx: 0, rsi: 0)
        count { $0.emulations["ring0_tlb_flush", default: 0] += 1 }
    }

    enum ServiceError: Error, CustomStringConvertible {
        case badAddress(UInt64)
        case failed(String)
        var description: String {
            switch self {
            case .badAddress(let a): return "page-table entry address \(a.hex) is not in guest RAM"
            case .failed(let why): return why
            }
        }
    }

    /// Runs a service stub in ring 0 with the guest's page tables and restores the guest's
    /// registers afterwards. Kicks (`.interrupted`) just run it again.
    private func runService(_ service: HypervisorHole.Service, rdi: UInt64, rdx: UInt64, rsi: UInt64) throws(ServiceError) {
        let savedRegs = vcpu.registers
        let savedSregs = vcpu.specialRegisters
        var regs = kvm_regs()
        regs.rip = service.address
        regs.rsp = HypervisorHole.stackTop
        regs.rflags = 0x2
        regs.rdi = rdi; regs.rdx = rdx; regs.rsi = rsi
        vcpu.registers = regs
        var sregs = savedSregs
        sregs.cs = Self.hypervisorCS
        sregs.ss = Self.hypervisorSS
        vcpu.specialRegisters = sregs
        defer {
            var restored = savedSregs
            restored.cr3 = vcpu.specialRegisters.cr3
            vcpu.registers = savedRegs
            vcpu.specialRegisters = restored
        }
        for _ in 0..<16 {
            let exit: VMExit
            do { exit = try vcpu.run() } catch { throw .failed("ring-0 service: \(error)") }
            switch exit {
            case .interrupted:
                continue
            case .io(let io) where io.port == HypervisorHole.servicePort && vcpu.registers.rip == service.exitRIP:
                return
            default:
                throw .failed("ring-0 service \(service) ended with \(exit.reasonName) at rip \(vcpu.registers.rip.hex)")
            }
        }
        throw .failed("ring-0 service \(service) kept being interrupted")
    }
}
