/// One entry of a PV vCPU's virtual IDT, as the guest registered it (`struct trap_info`).
public struct TrapEntry: Sendable, Equatable, Codable {
    public var vector: UInt8
    /// Bits 0-1: DPL (who may reach it with `int`); bit 2: mask events on entry.
    public var flags: UInt8
    public var cs: UInt16
    public var address: UInt64

    public var dpl: Int { Int(flags & 3) }
    public var masksEvents: Bool { flags & 4 != 0 }
}

/// A vCPU's virtual IDT: what its kernel registered with `HYPERVISOR_set_trap_table`
/// (Xen's `v->arch.pv.trap_ctxt[256]`).
public struct TrapTable: Sendable, Equatable {
    public private(set) var entries = [TrapEntry?](repeating: nil, count: 256)

    public init() {}

    public subscript(vector: Int) -> TrapEntry? {
        get { vector >= 0 && vector < 256 ? entries[vector] : nil }
        set { if vector >= 0 && vector < 256 { entries[vector] = newValue } }
    }

    public mutating func clear() { entries = [TrapEntry?](repeating: nil, count: 256) }

    /// The registered entries, lowest vector first.
    public var registered: [TrapEntry] { entries.compactMap { $0 } }
}

/// Callback types (`CALLBACKTYPE_*`, `public/callback.h`).
public enum CallbackType: UInt16, Sendable, CaseIterable {
    case event = 0, failsafe = 1, syscall = 2, nmi = 4, sysenter = 5, syscall32 = 7

    public var name: String {
        switch self {
        case .event: return "event"
        case .failsafe: return "failsafe"
        case .syscall: return "syscall"
        case .nmi: return "nmi"
        case .sysenter: return "sysenter"
        case .syscall32: return "syscall32"
        }
    }
}

/// A registered callback: where to enter the guest kernel, and whether to mask events.
public struct Callback: Sendable, Equatable {
    public var address: UInt64
    public var masksEvents: Bool
}
