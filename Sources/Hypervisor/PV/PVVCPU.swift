import CKVM
import Foundation
import KVM
import Synchronization

/// The PV state of one vCPU beside its KVM vCPU: guest kernel or user mode, the virtual IDT,
/// callbacks, the kernel stack from `stack_switch`, and the kernel and user page-table bases.
/// Only the vCPU's own thread changes it; snapshots read the parts under `published`.
final class PVVCPU: @unchecked Sendable {
    let vcpu: VirtualCPU
    unowned let domain: Domain
    var id: Int { vcpu.id }

    // Guest mode: 64-bit PV kernel and user both run in ring 3; xkv tracks which one it is.
    // A 32-bit PV guest's mode is its ring (1 kernel, 3 user), read at each exit.
    var kernelMode = true
    /// A 32-bit PV (compat) vCPU.
    var compat = false
    /// An HVM vCPU: the guest owns ring 0; its exits go to `handleHVM` (the PV state is unused).
    var hvm = false
    var callbacks: [CallbackType: Callback] = [:]
    var kernelSS: UInt16 = HypervisorHole.Selector.ring3DS
    var kernelSP: UInt64 = 0
    /// Machine addresses of the kernel and user L4 tables (NEW_BASEPTR / NEW_USER_BASEPTR).
    var kernelBase: UInt64 = 0
    var userBase: UInt64 = 0
    var gsBaseKernel: UInt64 = 0
    var gsBaseUser: UInt64 = 0

    /// The 0x80 handler in this vCPU's pCPU slot now (32-bit PV), for `idt`.
    var installedGate: TrapEntry? {
        get { published.withLock { $0.installedGate } }
        set { published.withLock { $0.installedGate = newValue } }
    }

    /// What other threads may read: counters and the virtual IDT.
    struct Published {
        var counters = VCPUCounters()
        var trapTable = TrapTable()
        var installedGate: TrapEntry?
    }
    let published = Mutex(Published())
    /// 0 runnable, 1 running in the guest, 2 blocked, 3 stopped.
    let runState = Atomic<UInt8>(0)

    // Scheduler state (Scheduler.swift).
    let schedState = Atomic<SchedState>(.idle)
    /// Credit in µs: earned each accounting period by weight, burned while running.
    let credit = Atomic<Int64>(0)
    let currentPCPU = Atomic<Int>(-1)
    let ranNanoseconds = Atomic<UInt64>(0)
    let preemptRequested = Atomic<Bool>(false)
    /// Brought up (vCPU 0 at boot; others by the guest, which this build does not offer yet).
    var online = false
    /// Set by SCHEDOP_yield: give the pCPU to another vCPU at the end of this exit.
    var yieldRequested = false
    var blockedAtGeneration: UInt64 = 0
    /// Blocked in SCHEDOP_block (or HLT): back into the guest only when a wake-up is pending,
    /// whatever else puts the vCPU back on a pCPU (a pause, an unpause, a replay halt).
    var blockedInGuest = false
    /// Guest-caused exits since this vCPU's last checkpoint (record/replay, `Checkpoint`).
    var exitsSinceCheckpoint: UInt64 = 0
    /// The buffer checkpoints are built in (`checkpoint(_:memory:)`).
    var checkpointValues: [UInt64] = []

    init(vcpu: VirtualCPU, domain: Domain) {
        self.vcpu = vcpu
        self.domain = domain
    }

    var trapTable: TrapTable {
        get { published.withLock { $0.trapTable } }
    }

    @inline(__always)
    func count(_ body: (inout VCPUCounters) -> Void) { published.withLock { body(&$0.counters) } }

    /// The vCPU's current address space (guest-virtual access through its page tables).
    var guestMemory: GuestVirtualMemory {
        GuestVirtualMemory(physical: domain.memory.physical, cr3: vcpu.specialRegisters.cr3)
    }

    /// Checked access to a guest pointer passed in a hypercall: canonical, outside the hypervisor
    /// hole, mapped with the user bit at every level (as every 64-bit PV mapping is).
    func guestRead(_ address: UInt64, count: Int) throws(MemoryFault) -> [UInt8] {
        try checkGuestRange(address, count: count)
        // 64-bit PV mappings all carry the user bit; a 32-bit kernel's own pages are supervisor.
        return try guestMemory.read(address, count: count, AccessKind(write: false, user: !compat))
    }

    func guestWrite(_ bytes: [UInt8], at address: UInt64) throws(MemoryFault) {
        try checkGuestRange(address, count: bytes.count)
        try guestMemory.write(bytes, at: address, user: !compat)
    }

    func guestLoad<T: FixedWidthInteger>(_ type: T.Type = T.self, at address: UInt64) throws(MemoryFault) -> T {
        let bytes = try guestRead(address, count: MemoryLayout<T>.size)
        return bytes.reversed().reduce(T(0)) { $0 << 8 | T($1) }
    }

    func guestStore<T: FixedWidthInteger>(_ value: T, at address: UInt64) throws(MemoryFault) {
        try guestWrite((0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }, at: address)
    }

    private func checkGuestRange(_ address: UInt64, count: Int) throws(MemoryFault) {
        let (end, overflow) = address.addingReportingOverflow(UInt64(max(count, 1) - 1))
        if compat {
            // A 32-bit guest's pointers reach its 4 GiB only.
            guard !overflow, end < 1 << 32 else { throw .outOfRange(address: address, length: UInt64(count)) }
            return
        }
        guard !overflow, !HypervisorHole.contains(address), !HypervisorHole.contains(end),
              !(address < HypervisorHole.start && end >= HypervisorHole.end) else {
            throw .outOfRange(address: address, length: UInt64(count))
        }
    }

    // MARK: Returning to the guest

    /// Segment state of 64-bit PV guest code (kernel and user alike run in ring 3).
    static let guestCS: kvm_segment = {
        var s = kvm_segment()
        s.selector = HypervisorHole.Selector.ring3CS64
        s.type = 11; s.present = 1; s.dpl = 3; s.s = 1; s.l = 1; s.g = 1; s.limit = 0xffff_ffff
        return s
    }()
    static let guestSS: kvm_segment = {
        var s = kvm_segment()
        s.selector = HypervisorHole.Selector.ring3DS
        s.type = 3; s.present = 1; s.dpl = 3; s.s = 1; s.db = 1; s.g = 1; s.limit = 0xffff_ffff
        return s
    }()

    /// Flat 32-bit segments of a compat guest: ring-1 kernel and ring-3 user.
    static let ring1CS = flat32(HypervisorHole.Selector.ring1CS, code: true, dpl: 1)
    static let ring1DS = flat32(HypervisorHole.Selector.ring1DS, code: false, dpl: 1)
    static let ring3CS32 = flat32(HypervisorHole.Selector.compatRing3CS, code: true, dpl: 3)
    static let ring3DS32 = flat32(HypervisorHole.Selector.compatRing3DS, code: false, dpl: 3)

    static func flat32(_ selector: UInt16, code: Bool, dpl: UInt8) -> kvm_segment {
        var s = kvm_segment()
        s.selector = selector
        s.type = code ? 11 : 3; s.present = 1; s.dpl = dpl; s.s = 1; s.db = 1; s.g = 1; s.limit = 0xffff_ffff
        return s
    }

    /// rflags bits a guest may set; IF and bit 1 are forced on, IOPL, NT, RF, VM, VIF, VIP off.
    static func sanitize(rflags: UInt64) -> UInt64 { (rflags & 0x24_0dd5) | 0x202 }

    /// Makes sure the vCPU re-enters in guest ring 3 with Xen's flat selectors (after an
    /// exception stub it is in ring 0; after `syscall` on hardware too).
    func restoreGuestSegments(cs: kvm_segment = PVVCPU.guestCS, ss: kvm_segment = PVVCPU.guestSS) {
        var sregs = vcpu.specialRegisters
        guard sregs.cs.selector != cs.selector || sregs.ss.selector != ss.selector else { return }
        sregs.cs = cs
        sregs.ss = ss
        vcpu.specialRegisters = sregs
    }

    /// Loads a new page-table base (a real cr3 load: KVM switches translations with it).
    func loadPageTableBase(_ base: UInt64) {
        var sregs = vcpu.specialRegisters
        guard sregs.cr3 & PTE.frameMask != base & PTE.frameMask else { return }
        sregs.cr3 = base & PTE.frameMask
        vcpu.specialRegisters = sregs
    }

    /// Switches between guest kernel and guest user mode: page tables and gs base, as Xen's
    /// `toggle_guest_mode` does (swapgs included).
    func switchMode(toKernel: Bool) {
        guard toKernel != kernelMode else { return }
        var sregs = vcpu.specialRegisters
        if toKernel {
            gsBaseUser = sregs.gs.base
            sregs.gs.base = gsBaseKernel
        } else {
            gsBaseKernel = sregs.gs.base
            sregs.gs.base = gsBaseUser
        }
        sregs.cr3 = toKernel ? kernelBase : (userBase != 0 ? userBase : kernelBase)
        vcpu.specialRegisters = sregs
        kernelMode = toKernel
    }
}
