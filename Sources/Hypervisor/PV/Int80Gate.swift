import KVM

/// The direct 0x80 path's set-up (Xen's `init_int80_direct_trap`): the slot xkv's ring-0 code
/// reads (`Kernels/xkv_entry/entry.S`) holds the vCPU's 0x80 handler while it runs on a pCPU.
extension PVVCPU {
    private var contextAddress: UInt64 {
        domain.memory.privateFrame(domain.memory.layout.holePages + UInt64(HypervisorHole.Page.context))
    }

    /// Why the 0x80 handler cannot go in the slot, or nil if it can: Xen leaves the slot empty when
    /// the entry is absent, masks events, or names a selector that is not a valid guest selector.
    func int80GateRefusal() -> String? {
        guard let entry = trapTable[0x80], entry.address != 0 else { return "no 0x80 entry" }
        if entry.masksEvents { return "the 0x80 entry masks events" }
        guard entry.cs & 3 == 1 || entry.cs & 3 == 3, segment(forSelector: entry.cs, code: true) != nil else {
            return "the 0x80 entry's selector \(entry.cs) is not a valid guest code selector"
        }
        return nil
    }

    func installInt80Gate() {
        let phys = domain.memory.physical
        let context = contextAddress
        guard int80GateRefusal() == nil, let entry = trapTable[0x80] else {
            try? phys.store(UInt64(0), at: context + HypervisorHole.Context.slotPresent)
            installedGate = nil
            return
        }
        do {
            try phys.store(entry.address, at: context + HypervisorHole.Context.slotEIP)
            try phys.store(UInt64(entry.cs), at: context + HypervisorHole.Context.slotCS)
            try phys.store(kernelSP & 0xffff_ffff, at: context + HypervisorHole.Context.kernelSP)
            try phys.store(UInt64(kernelSS), at: context + HypervisorHole.Context.kernelSS)
            try phys.store(UInt64(1), at: context + HypervisorHole.Context.slotPresent)
            installedGate = entry
            count { $0.gateInstalls += 1 }
        } catch {
            installedGate = nil
        }
    }

    func clearInt80Gate() {
        try? domain.memory.physical.store(UInt64(0), at: contextAddress + HypervisorHole.Context.slotPresent)
        installedGate = nil
    }

    /// PVM compensations xkv's ring-0 code made without an exit (it counts them in the context page).
    var ring0Compensations: [(PVMCompensation, UInt64)] {
        let phys = domain.memory.physical
        let fields: [(PVMCompensation, UInt64)] = [(.softwareInterruptAsUD, HypervisorHole.Context.udAsInt80),
                                                   (.compatIretAsGP, HypervisorHole.Context.iretEmulated)]
        return fields.map { ($0.0, (try? phys.load(UInt64.self, at: contextAddress + $0.1)) ?? 0) }
    }
}
