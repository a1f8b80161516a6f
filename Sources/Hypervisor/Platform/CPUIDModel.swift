import KVM

/// The CPUID a domain sees: the leaves KVM supports on this host plus Xen's hypervisor leaves at
/// 0x40000000, so a guest can tell it runs on Xen.
public struct CPUIDModel: Sendable {
    public let hostLeaves: [CPUIDEntry]

    public init(hostLeaves: [CPUIDEntry]) { self.hostLeaves = hostLeaves }

    /// "XenVMMXenVMM" as ebx, ecx, edx.
    public static let xenSignature: (UInt32, UInt32, UInt32) = (0x566e_6558, 0x6558_4d4d, 0x4d4d_566e)
    public static let hypercallMSR: UInt32 = 0x4000_0000

    /// The leaves KVM is given for the vCPU: host leaves with Xen's replacing KVM's own 0x4000xxxx.
    public var kvmTable: [CPUIDEntry] {
        hostLeaves.filter { $0.function < 0x4000_0000 || $0.function > 0x4fff_ffff } + xenLeaves
    }

    var xenLeaves: [CPUIDEntry] {
        let sig = Self.xenSignature
        return [
            CPUIDEntry(function: 0x4000_0000, eax: 0x4000_0002, ebx: sig.0, ecx: sig.1, edx: sig.2),
            CPUIDEntry(function: 0x4000_0001, eax: XenIdentity.major << 16 | XenIdentity.minor, ebx: 0, ecx: 0, edx: 0),
            CPUIDEntry(function: 0x4000_0002, eax: 1, ebx: Self.hypercallMSR, ecx: 0, edx: 0),
        ]
    }

    /// What `cpuid` answers for `leaf`/`subleaf` (PV guests reach this through forced emulation).
    public func leaf(_ leaf: UInt32, _ subleaf: UInt32, pv: Bool) -> CPUIDEntry {
        if let xen = xenLeaves.first(where: { $0.function == leaf }) { return xen }
        let significantIndex = hostLeaves.first { $0.function == leaf && $0.flags & 1 != 0 } != nil
        var entry = hostLeaves.first { $0.function == leaf && (!significantIndex || $0.index == subleaf) }
            ?? CPUIDEntry(function: leaf, index: subleaf, eax: 0, ebx: 0, ecx: 0, edx: 0)
        if pv && leaf == 1 {
            // Xen hides from PV guests what they cannot use: VMX (bit 5) and, in ecx bit 31, says "hypervisor".
            entry.ecx = (entry.ecx & ~(1 << 5)) | (1 << 31)
        }
        return entry
    }
}
