/// The one place where xkv makes up for PVM, the software KVM of hosts without VT-x/AMD-V, so
/// that guests see Xen's behaviour on every host (DESIGN.md, "The execution layer").
/// Each compensation is counted per vCPU when it fires; on hardware hosts the counters stay 0.
public enum PVMCompensation: Int, CaseIterable, Sendable {
    /// `syscall` from a PV guest reached xkv's entry at CPL 3 (on hardware it arrives at CPL 0).
    /// The entry page is mapped user-executable and the TSS I/O bitmap opens the entry's port, so
    /// the same one-instruction stub exits either way; the engine then treats it exactly as the
    /// hardware path.
    case syscallAtCPL3
    /// The guest wrote to the syscall entry's port from its own code. The port is open only for
    /// the entry (above); Xen would answer a PV guest's port I/O with #GP(0), so xkv does.
    case entryPortFromGuest
    /// `int $N` at CPL 3 arrived as #UD on the `int`: xkv turns it back into the software
    /// interrupt the guest asked for (DPL rule and all).
    case softwareInterruptAsUD
    /// PVM keeps L4 slot 256, where Xen maps the read-only M2P, away from ring 3: xkv also maps
    /// the M2P at slot 257 and `XENMEM_machphys_mapping` reports that address. Guests that ask
    /// (as Linux does) work unchanged; counted each time the alias is reported.
    case m2pAlias
    /// `int $N` in 32-bit ring 1 (a compat PV kernel's `int $0x82` hypercall) makes PVM's
    /// emulator stop with KVM_EXIT_INTERNAL_ERROR; xkv decodes the `int` at rip itself and
    /// carries on as the hardware gate would have.
    case compatIntAsInternalError
    /// `iret` in 32-bit ring 1 raises #GP(0) on PVM, yet a 32-bit PV kernel leaves every trap
    /// and system call with it. xkv's ring-0 #GP entry emulates it for Xen's flat selectors
    /// without an exit (counted there); the engine emulates the rest.
    case compatIretAsGP
    /// `int3` at CPL 3 in 32-bit code raises #UD on PVM (and stops the emulator at CPL 1):
    /// xkv delivers the #BP the guest asked for, past the int3.
    case int3AsUD

    public var name: String {
        switch self {
        case .syscallAtCPL3: return "syscall_at_cpl3"
        case .entryPortFromGuest: return "entry_port_from_guest"
        case .softwareInterruptAsUD: return "int_n_as_ud"
        case .m2pAlias: return "m2p_alias"
        case .compatIntAsInternalError: return "compat_int_as_internal_error"
        case .compatIretAsGP: return "compat_iret_as_gp"
        case .int3AsUD: return "int3_as_ud"
        }
    }

    /// Length of the port-I/O instruction that ends just before `rip`, decoded backwards from the
    /// bytes before it (`bytes` ends at rip). KVM reports port-I/O exits with rip already past
    /// the instruction; Xen's #GP must point at it.
    public static func portIOInstructionLength(endingWith bytes: [UInt8]) -> Int? {
        let n = bytes.count
        func at(_ back: Int) -> UInt8? { back <= n ? bytes[n - back] : nil }
        // in/out with an imm8 port: e4-e7 ib, optionally 66-prefixed.
        if let op = at(2), (0xe4...0xe7).contains(op) { return at(3) == 0x66 ? 3 : 2 }
        // in/out with the port in dx, and ins/outs: ec-ef, 6c-6f, optionally 66/f3-prefixed.
        if let op = at(1), (0xec...0xef).contains(op) || (0x6c...0x6f).contains(op) {
            var length = 1
            while let prefix = at(length + 1), prefix == 0x66 || prefix == 0xf3, length < 3 { length += 1 }
            return length
        }
        return nil
    }
}
