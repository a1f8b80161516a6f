/// `memory_op` (12): the reservation queries and where the M2P is mapped.
extension PVVCPU {
    func memoryOp(_ a: HypercallArguments) -> HypercallResult {
        switch a.a1 {
        case 2: // XENMEM_maximum_ram_page
            return .value(domain.memory.nrPages - 1)
        case 3, 4: // XENMEM_current_reservation, XENMEM_maximum_reservation (&domid)
            guard let dom = try? guestLoad(UInt16.self, at: a.a2) else { return .error(.efault) }
            guard UInt64(dom) == Self.domidSelf || Int(dom) == domain.id else { return .error(.esrch) }
            return .value(domain.memory.nrPages)
        case 12 where compat: // {u32 v_start, v_end, max_mfn}: the compat M2P below 4 GiB
            let start = PVDomainBuilder.compatVirtStart
            let words = [UInt32(start), UInt32(start + domain.memory.nrPages * 4), UInt32(domain.memory.nrPages - 1)]
            return (try? guestWrite(words.flatMap(\.littleEndianBytes), at: a.a2)) == nil ? .error(.efault) : .success
        case 12: // XENMEM_machphys_mapping: {v_start, v_end, max_mfn}
            let start: UInt64
            if domain.engineInfo.hostIsPVM {
                start = HypervisorHole.m2pAliasBase
                count { $0.compensations[PVMCompensation.m2pAlias.rawValue] += 1 }
            } else {
                start = HypervisorHole.m2pBase
            }
            let end = start + domain.memory.nrPages * 8
            let bytes = [start, end, domain.memory.nrPages - 1].flatMap { $0.littleEndianBytes }
            return (try? guestWrite(bytes, at: a.a2)) == nil ? .error(.efault) : .success
        default:
            return .error(.enosys)
        }
    }
}
