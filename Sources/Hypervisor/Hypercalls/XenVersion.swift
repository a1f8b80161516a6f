/// `xen_version` (17): who the hypervisor says it is.
extension PVVCPU {
    enum XenVersionCommand: UInt64 {
        case version = 0, extraversion = 1, compileInfo = 2, capabilities = 3, changeset = 4
        case platformParameters = 5, getFeatures = 6, pagesize = 7, guestHandle = 8, commandline = 9
    }

    func xenVersion(_ a: HypercallArguments) -> HypercallResult {
        guard let command = XenVersionCommand(rawValue: a.a1) else { return .error(.enosys) }
        switch command {
        case .version:
            return .value(UInt64(XenIdentity.major << 16 | XenIdentity.minor))
        case .pagesize:
            return .value(4096)
        case .extraversion:
            return copyOut(fixed(XenIdentity.extraversion, 16), to: a.a2)
        case .compileInfo:
            return copyOut(fixed("swiftc", 64) + fixed("xkv", 16) + fixed("xkv", 32) + fixed("", 32), to: a.a2)
        case .capabilities:
            return copyOut(fixed(domain.engineInfo.capabilities, 1024), to: a.a2)
        case .changeset:
            return copyOut(fixed("xkv", 64), to: a.a2)
        case .platformParameters:
            // virt_start: where the hypervisor's part of the guest's address space begins.
            return copyOut(compat ? UInt32(PVDomainBuilder.compatVirtStart).littleEndianBytes : HypervisorHole.start.littleEndianBytes, to: a.a2)
        case .getFeatures:
            guard let index = try? guestLoad(UInt32.self, at: a.a2) else { return .error(.efault) }
            // Submap 0: XENFEAT_mmu_pt_update_preserve_ad (5), which mmu_update honours.
            let submap: UInt32 = index == 0 ? 1 << 5 : 0
            guard (try? guestStore(submap, at: a.a2 &+ 4)) != nil else { return .error(.efault) }
            return .success
        case .guestHandle:
            return copyOut(domain.uuid.bytes, to: a.a2)
        case .commandline:
            return copyOut(fixed("", 1024), to: a.a2)
        }
    }

    private func copyOut(_ bytes: [UInt8], to address: UInt64) -> HypercallResult {
        (try? guestWrite(bytes, at: address)) == nil ? .error(.efault) : .success
    }

    /// `text` as a NUL-padded char[length].
    private func fixed(_ text: String, _ length: Int) -> [UInt8] {
        var bytes = Array(text.utf8.prefix(length - 1))
        bytes += [UInt8](repeating: 0, count: length - bytes.count)
        return bytes
    }
}
