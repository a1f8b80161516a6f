import Hypervisor

/// The kind of guest as the console explains it: which way its system calls travel.
public enum GuestKind: String, Sendable, CaseIterable {
    case pv32, pv64, hvm

    /// The kind of `domain`. The snapshot says pv or hvm; a PV domain is 32-bit when its
    /// kernel image is `pv32` or its trap table enters the guest kernel through Xen's 32-bit
    /// ring-1 code selector (0xe019), as a compat-mode kernel's does.
    // Departure: DomainSnapshot has no guest width yet; this derivation goes once it does.
    public init(_ domain: DomainSnapshot) {
        switch domain.type {
        case .hvm:
            self = .hvm
        case .pv, .pvh:
            let ring1CS: UInt16 = 0xe019
            let thirtyTwo = domain.kernel.hasSuffix("pv32")
                || domain.trapTables.contains { $0.contains { $0.cs == ring1CS } }
            self = thirtyTwo ? .pv32 : .pv64
        }
    }

    /// How a guest user-space system call reaches the guest kernel, in a few words.
    public var syscallPath: String {
        switch self {
        case .pv32: return "int 0x80 → guest kernel, no hypervisor"
        case .pv64: return "syscall → xkv entry → guest callback"
        case .hvm: return "syscall → guest kernel; not visible to the hypervisor"
        }
    }

    /// Who counts this kind's system calls.
    public var syscallCounting: String {
        switch self {
        case .pv32: return "direct: counted by the guest (guest-reported)"
        case .pv64: return "routed: counted by xkv"
        case .hvm: return "not visible: xkv never sees them"
        }
    }
}
