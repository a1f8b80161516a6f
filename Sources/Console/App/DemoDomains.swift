/// The console's embedded default: the domains it starts when given no config or script, so
/// every pane is alive at first launch. Each line goes through the shared command parser and
/// executor, exactly as if typed at the `:` prompt.
public enum DemoDomains {
    /// A 32-bit and a 64-bit PV domain each making system calls without end (int 0x80 straight
    /// into the guest kernel, and syscall routed by xkv), and each taking faults without end
    /// (bounced through their virtual IDTs).
    public static let commands: [String] = [
        #"create name=pv32-syscalls kernel=builtin:pv32 memory=16 cmdline="syscalls=forever""#,
        #"create name=pv64-syscalls kernel=builtin:pv64 memory=16 cmdline="syscalls=forever""#,
        #"create name=pv32-faults kernel=builtin:pv32 memory=16 cmdline="faults=forever""#,
        #"create name=pv64-faults kernel=builtin:pv64 memory=16 cmdline="faults=forever""#,
    ]

    /// Created only where the host has hardware virtualization (VT-x/AMD-V).
    public static let hardwareCommands: [String] = [
        #"create name=hvm64-syscalls type=hvm kernel=builtin:hvm64 memory=16 cmdline="syscalls=forever""#,
    ]

    /// The event-log line that says why there is no HVM domain on this host.
    public static func noHVMReason(hostKind: String) -> String {
        "demo: no HVM domain: this host's KVM is \(hostKind), without hardware virtualization (VT-x/AMD-V), "
            + "and an unmodified HVM kernel's ring 0 cannot run there; xkv refuses type=hvm on such hosts"
    }
}
