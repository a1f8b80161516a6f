import KVM

/// Page-table and descriptor-table hypercalls (`mm.c`): every entry a guest asks for is checked
/// the way Xen checks it, in the small model of `PVMemory` — the guest maps only its own frames
/// (and shared_info and grant frames), never a page-table frame writable, never the hole.
extension PVVCPU {
    enum MMUExtCommand: UInt32 {
        case pinL1 = 0, pinL2 = 1, pinL3 = 2, pinL4 = 3, unpin = 4, newBasePtr = 5
        case tlbFlushLocal = 6, invlpgLocal = 7, tlbFlushMulti = 8, invlpgMulti = 9
        case tlbFlushAll = 10, invlpgAll = 11, flushCache = 12, setLDT = 13, newUserBasePtr = 15
    }
    static let domidSelf: UInt64 = 0x7ff0
    /// Batch bound for mmu_update / mmuext_op (Xen preempts long batches; xkv refuses them).
    static let maxBatch: UInt64 = 1 << 16

    /// Checks a new page-table entry at `level` (1 = L1). Returns the entry as stored (64-bit PV
    /// entries always carry the user bit: the guest kernel runs in ring 3) or an error.
    func validateEntry(_ entry: UInt64, level: Int) -> UInt64? {
        guard entry & PTE.present != 0 else { return entry }
        let mfn = (entry & PTE.frameMask) >> 12
        guard domain.memory.guestMayMap(mfn) else { return nil }
        if compat {
            // PAE: a 32-bit guest's L3 entries carry only the present bit; kernel pages stay supervisor.
            switch level {
            case 1:
                if entry & PTE.writable != 0, domain.memory.level(of: mfn) != nil { return nil }
                return entry
            case 3:
                guard entry & 0xfff & ~PTE.present == 0, domain.memory.level(of: mfn) == 2 else { return nil }
                return entry
            default:
                guard entry & PTE.largePage == 0, domain.memory.level(of: mfn) == level - 1 else { return nil }
                return entry
            }
        }
        if level == 1 {
            if entry & PTE.writable != 0, domain.memory.level(of: mfn) != nil { return nil }
        } else {
            guard entry & PTE.largePage == 0, domain.memory.level(of: mfn) == level - 1 else { return nil }
        }
        return entry | PTE.user
    }

    /// `update_va_mapping(va, pte, flags)`: rewrite the L1 entry that maps `va`.
    func updateVAMapping(_ a: HypercallArguments) -> HypercallResult {
        let va = a.a1
        // 32-bit guests pass the PTE as two words: (va, low, high, flags).
        let pte = compat ? (a.a2 & 0xffff_ffff) | (a.a3 << 32) : a.a2
        let flags = compat ? a.a4 : a.a3
        if compat {
            guard va < PVDomainBuilder.compatVirtStart else { return .error(.einval) }
        } else {
            guard GuestVirtualMemory.isCanonical(va), !HypervisorHole.contains(va) else { return .error(.einval) }
        }
        guard let slot = l1Slot(for: va) else { return .error(.einval) }
        guard let entry = validateEntry(pte, level: 1) else { return .error(.einval) }
        // UVMF_TLB_FLUSH (1) drops everything; otherwise (UVMF_INVLPG, or none) this page.
        return write(entry, at: slot, invalidating: flags & 3 == 1 ? nil : va)
    }

    /// Writes a checked entry through the vCPU (see RingZeroService); a failure crashes the domain.
    private func write(_ entry: UInt64, at slot: UInt64, invalidating va: UInt64?) -> HypercallResult {
        do {
            try writePageTableEntry(entry, at: slot, invalidating: va)
            return .success
        } catch {
            _ = crash("page-table write failed: \(error)")
            return .stop
        }
    }

    /// The guest-physical address of the L1 entry mapping `va` in the current tables.
    private func l1Slot(for va: UInt64) -> UInt64? {
        let phys = domain.memory.physical
        var table = vcpu.specialRegisters.cr3 & PTE.frameMask
        for level in stride(from: 4, to: 1, by: -1) {
            let index = (va >> (12 + 9 * UInt64(level - 1))) & 0x1ff
            guard let entry = try? phys.load(UInt64.self, at: table + index * 8),
                  entry & PTE.present != 0, entry & PTE.largePage == 0 else { return nil }
            table = entry & PTE.frameMask
        }
        return table + ((va >> 12) & 0x1ff) * 8
    }

    /// `mmu_update(reqs, count, done, domid)`: a batch of {ptr | cmd, val}.
    func mmuUpdate(_ a: HypercallArguments) -> HypercallResult {
        guard a.a2 <= Self.maxBatch else { return .error(.einval) }
        guard a.a4 == Self.domidSelf || a.a4 == UInt64(domain.id) else { return .error(.esrch) }
        var done: UInt64 = 0
        var result = HypercallResult.success
        for i in 0..<a.a2 {
            guard let req = try? guestRead(a.a1 &+ i * 16, count: 16) else { result = .error(.efault); break }
            let ptr = req.littleEndian(0..<8)
            let val = req.littleEndian(8..<16)
            if let error = applyMMUUpdate(ptr: ptr, val: val) {
                if error == .ebusy { return .stop }   // the write itself failed: the domain crashed
                result = .error(error)
                break
            }
            done += 1
        }
        if a.a3 != 0, (try? guestStore(UInt32(done), at: a.a3)) == nil { return .error(.efault) }
        return result
    }

    private func applyMMUUpdate(ptr: UInt64, val: UInt64) -> XenErrno? {
        let phys = domain.memory.physical
        switch ptr & 3 {
        case 0, 2: // MMU_NORMAL_PT_UPDATE, MMU_PT_UPDATE_PRESERVE_AD
            let address = ptr & ~7
            let mfn = address >> 12
            guard mfn < domain.memory.nrPages, let level = domain.memory.level(of: mfn) else { return .einval }
            // The hole slots of an L4, and a 32-bit guest's L2 slots from HYPERVISOR_COMPAT_VIRT_START
            // (the compat M2P), belong to the hypervisor.
            if compat && level == 2 && Int((address & 0xfff) / 8) >= PVDomainBuilder.compatFirstXenL2Slot { return .eperm }
            if !compat && level == 4 {
                let slot = Int((address & 0xfff) / 8)
                if slot >= HypervisorHole.m2pSlot && slot < HypervisorHole.m2pSlot + 16 { return .eperm }
            }
            guard var entry = validateEntry(val, level: level) else { return .einval }
            if ptr & 3 == 2, let old = try? phys.load(UInt64.self, at: address) {
                entry = (entry & ~(PTE.accessed | PTE.dirty)) | (old & (PTE.accessed | PTE.dirty))
            }
            if case .stop = write(entry, at: address, invalidating: nil) { return .ebusy }
            if compat && level == 3 && mfn << 12 == kernelBase, refreshCompatL3() == false { return .ebusy }
            return nil
        case 1: // MMU_MACHPHYS_UPDATE: set M2P[mfn] = val
            let mfn = ptr >> 12
            guard mfn < domain.memory.nrPages else { return .einval }
            let layout = domain.memory.layout
            if domain.memory.compat {
                guard (try? phys.store(UInt32(truncatingIfNeeded: val), at: domain.memory.privateFrame(layout.compatM2PData) + mfn * 4)) != nil else { return .efault }
            }
            return (try? phys.store(val, at: domain.memory.privateFrame(layout.m2pData) + mfn * 8)) == nil ? .efault : nil
        default:
            return .enosys
        }
    }

    /// `mmuext_op(ops, count, done, domid)`: pin/unpin tables, new base pointers, TLB flushes.
    func mmuextOp(_ a: HypercallArguments) -> HypercallResult {
        guard a.a2 <= Self.maxBatch else { return .error(.einval) }
        guard a.a4 == Self.domidSelf || a.a4 == UInt64(domain.id) else { return .error(.esrch) }
        var done: UInt64 = 0
        var result = HypercallResult.success
        for i in 0..<a.a2 {
            let size = UInt64(compat ? 12 : MMUExtOp64.size)
            guard let op = try? guestRead(a.a1 &+ i * size, count: Int(size)) else { result = .error(.efault); break }
            let cmd = UInt32(op[0]) | UInt32(op[1]) << 8 | UInt32(op[2]) << 16 | UInt32(op[3]) << 24
            // 32-bit ops are {u32 cmd; u32 arg1; u32 arg2}.
            let arg1 = compat ? op.littleEndian(4..<8)
                              : op.littleEndian(8..<16)
            if let error = applyMMUExt(cmd: cmd, arg1: arg1) { result = .error(error); break }
            done += 1
        }
        if a.a3 != 0, (try? guestStore(UInt32(done), at: a.a3)) == nil { return .error(.efault) }
        return result
    }

    private func applyMMUExt(cmd raw: UInt32, arg1: UInt64) -> XenErrno? {
        guard let cmd = MMUExtCommand(rawValue: raw) else { return .enosys }
        switch cmd {
        case .pinL1, .pinL2, .pinL3, .pinL4:
            return pin(mfn: arg1, level: Int(raw) + 1)
        case .unpin:
            guard domain.memory.level(of: arg1) != nil else { return .einval }
            guard arg1 << 12 != kernelBase, arg1 << 12 != userBase else { return .ebusy }
            domain.memory.setLevel(nil, of: arg1)
            return nil
        case .newBasePtr where compat:
            guard domain.memory.level(of: arg1) == 3 else { return .einval }
            kernelBase = arg1 << 12
            return refreshCompatL3() ? nil : .efault
        case .newUserBasePtr where compat:
            return .einval
        case .newBasePtr, .newUserBasePtr:
            guard arg1 != 0 || cmd == .newUserBasePtr else { return .einval }
            if arg1 != 0 { guard domain.memory.level(of: arg1) == 4 else { return .einval } }
            if cmd == .newBasePtr {
                kernelBase = arg1 << 12
                if kernelMode { loadPageTableBase(kernelBase) }
            } else {
                userBase = arg1 << 12
                if !kernelMode { loadPageTableBase(userBase != 0 ? userBase : kernelBase) }
            }
            return nil
        case .tlbFlushLocal, .invlpgLocal, .tlbFlushMulti, .invlpgMulti, .tlbFlushAll, .invlpgAll:
            do { try flushTLB() } catch { return .efault }
            return nil
        case .flushCache:
            return nil
        case .setLDT:
            return arg1 == 0 ? nil : .einval
        }
    }

    /// A 32-bit guest's PAE L3 is reached through xkv's copy of it (see PVDomainBuilder): after
    /// the guest changes its L3 or loads another, the copy's four entries are rewritten from the
    /// vCPU, and every translation is dropped.
    func refreshCompatL3() -> Bool {
        let memory = domain.memory
        let copy = memory.privateFrame(memory.layout.compatL3)
        do {
            for i in 0..<UInt64(4) {
                let entry = try memory.physical.load(UInt64.self, at: kernelBase + i * 8)
                try writePageTableEntry(PVDomainBuilder.widenPDPTE(entry), at: copy + i * 8, privateFrame: true)
            }
            return true
        } catch {
            _ = crash("cannot load the new page-table base: \(error)")
            return false
        }
    }

    /// Pins a guest frame as a page table of `level`: every entry must pass validation and the
    /// frame must not be mapped writable anywhere (a scan of the L1 tables; pinning is rare).
    private func pin(mfn: UInt64, level: Int) -> XenErrno? {
        let memory = domain.memory
        guard mfn < memory.nrPages else { return .einval }
        if let existing = memory.level(of: mfn) { return existing == level ? nil : .einval }
        let phys = memory.physical
        for i in 0..<UInt64(512) {
            if level == 4 && i >= UInt64(HypervisorHole.m2pSlot) && i < UInt64(HypervisorHole.m2pSlot + 16) { continue }
            guard let entry = try? phys.load(UInt64.self, at: mfn << 12 + i * 8) else { return .efault }
            guard validateEntry(entry, level: level) != nil else { return .einval }
        }
        if isMappedWritable(mfn) { return .einval }
        // Entries gain the user bit (64-bit PV) and an L4 gains the hole, written through the vCPU.
        do {
            for i in 0..<UInt64(512) {
                let at = mfn << 12 + i * 8
                if level == 4 && [HypervisorHole.m2pSlot, HypervisorHole.m2pAliasSlot, HypervisorHole.baseSlot,
                                  HypervisorHole.directMapSlot].contains(Int(i)) {
                    let hole = try phys.load(UInt64.self, at: kernelBase + i * 8)
                    try writePageTableEntry(hole, at: at)
                    continue
                }
                let entry = try phys.load(UInt64.self, at: at)
                if let checked = validateEntry(entry, level: level), checked != entry { try writePageTableEntry(checked, at: at) }
            }
        } catch { return .efault }
        memory.setLevel(level, of: mfn)
        return nil
    }

    private func isMappedWritable(_ mfn: UInt64) -> Bool {
        let phys = domain.memory.physical
        let l1s = domain.memory.tables.withLock { $0.levels.filter { $0.value == 1 }.map(\.key) }
        for table in l1s {
            for i in 0..<UInt64(512) {
                guard let e = try? phys.load(UInt64.self, at: table << 12 + i * 8) else { continue }
                if e & (PTE.present | PTE.writable) == PTE.present | PTE.writable, (e & PTE.frameMask) >> 12 == mfn { return true }
            }
        }
        return false
    }

    /// `set_gdt(frames, entries)`: the guest's descriptors below Xen's reserved area. xkv copies
    /// the checked descriptors into its own GDT pages (later edits of the frames need another set_gdt).
    func setGDT(_ a: HypercallArguments) -> HypercallResult {
        let entries = a.a2
        guard entries <= UInt64(HypervisorHole.Selector.firstReservedEntry) else { return .error(.einval) }
        let frames = (entries + 511) / 512
        var descriptors: [UInt64] = []
        for f in 0..<frames {
            guard let mfn = try? guestLoad(UInt64.self, at: a.a1 &+ f * 8) else { return .error(.efault) }
            guard mfn < domain.memory.nrPages, domain.memory.level(of: mfn) == nil else { return .error(.einval) }
            let count = min(512, entries - f * 512)
            for i in 0..<count {
                guard let d = try? domain.memory.physical.load(UInt64.self, at: mfn << 12 + i * 8) else { return .error(.efault) }
                guard Self.descriptorIsSafe(d) else { return .error(.einval) }
                descriptors.append(d)
            }
        }
        let gdt = domain.memory.privateFrame(domain.memory.layout.holePages + UInt64(HypervisorHole.Page.gdt))
        do {
            try domain.memory.physical.fill(gdt, count: HypervisorHole.Selector.firstReservedEntry * 8, with: 0)
            for (i, d) in descriptors.enumerated() { try domain.memory.physical.store(d, at: gdt + UInt64(i * 8)) }
        } catch { return .error(.efault) }
        return .success
    }

    /// Xen's `check_descriptor` in short: not-present and null descriptors pass; code and data
    /// segments must be DPL 3 (64-bit PV kernels run in ring 3); no system descriptors.
    static func descriptorIsSafe(_ d: UInt64) -> Bool {
        guard d >> 47 & 1 == 1 else { return true }
        guard d >> 44 & 1 == 1 else { return false }
        return d >> 45 & 3 == 3
    }
}
