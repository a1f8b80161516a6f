/// Xen hypercall numbers (`public/xen.h`). Numbers xkv does not implement answer -ENOSYS.
public enum Hypercall: UInt64, CaseIterable, Sendable {
    case setTrapTable = 0, mmuUpdate = 1, setGDT = 2, stackSwitch = 3, setCallbacks = 4
    case fpuTaskswitch = 5, schedOpCompat = 6, platformOp = 7, setDebugreg = 8, getDebugreg = 9
    case updateDescriptor = 10, memoryOp = 12, multicall = 13, updateVAMapping = 14
    case setTimerOp = 15, eventChannelOpCompat = 16, xenVersion = 17, consoleIO = 18
    case physdevOpCompat = 19, grantTableOp = 20, vmAssist = 21, updateVAMappingOtherdomain = 22
    case iret = 23, vcpuOp = 24, setSegmentBase = 25, mmuextOp = 26, xsmOp = 27, nmiOp = 28
    case schedOp = 29, callbackOp = 30, xenoprofOp = 31, eventChannelOp = 32, physdevOp = 33
    case hvmOp = 34, sysctl = 35, domctl = 36, kexecOp = 37, tmemOp = 38, argoOp = 39
    case xenpmuOp = 40, dmOp = 41, hypfsOp = 42

    /// Highest hypercall number counters keep a slot for.
    public static let slots = 64

    /// Xen's name for the hypercall, as `xentrace` and the counters print it.
    public var name: String {
        switch self {
        case .setTrapTable: return "set_trap_table"
        case .mmuUpdate: return "mmu_update"
        case .setGDT: return "set_gdt"
        case .stackSwitch: return "stack_switch"
        case .setCallbacks: return "set_callbacks"
        case .fpuTaskswitch: return "fpu_taskswitch"
        case .schedOpCompat: return "sched_op_compat"
        case .platformOp: return "platform_op"
        case .setDebugreg: return "set_debugreg"
        case .getDebugreg: return "get_debugreg"
        case .updateDescriptor: return "update_descriptor"
        case .memoryOp: return "memory_op"
        case .multicall: return "multicall"
        case .updateVAMapping: return "update_va_mapping"
        case .setTimerOp: return "set_timer_op"
        case .eventChannelOpCompat: return "event_channel_op_compat"
        case .xenVersion: return "xen_version"
        case .consoleIO: return "console_io"
        case .physdevOpCompat: return "physdev_op_compat"
        case .grantTableOp: return "grant_table_op"
        case .vmAssist: return "vm_assist"
        case .updateVAMappingOtherdomain: return "update_va_mapping_otherdomain"
        case .iret: return "iret"
        case .vcpuOp: return "vcpu_op"
        case .setSegmentBase: return "set_segment_base"
        case .mmuextOp: return "mmuext_op"
        case .xsmOp: return "xsm_op"
        case .nmiOp: return "nmi_op"
        case .schedOp: return "sched_op"
        case .callbackOp: return "callback_op"
        case .xenoprofOp: return "xenoprof_op"
        case .eventChannelOp: return "event_channel_op"
        case .physdevOp: return "physdev_op"
        case .hvmOp: return "hvm_op"
        case .sysctl: return "sysctl"
        case .domctl: return "domctl"
        case .kexecOp: return "kexec_op"
        case .tmemOp: return "tmem_op"
        case .argoOp: return "argo_op"
        case .xenpmuOp: return "xenpmu_op"
        case .dmOp: return "dm_op"
        case .hypfsOp: return "hypfs_op"
        }
    }

    /// The counter name for hypercall number `number`, known or not.
    public static func name(of number: Int) -> String {
        Hypercall(rawValue: UInt64(number))?.name ?? "hypercall_\(number)"
    }
}

/// Xen's errno values as a guest sees them (negated in the result register).
public enum XenErrno: Int64, Sendable {
    case eperm = 1, enoent = 2, esrch = 3, e2big = 7, enomem = 12, efault = 14, ebusy = 16
    case eexist = 17, einval = 22, enospc = 28, enosys = 38

    /// The value the hypercall returns: `-errno` as a 64-bit register value.
    public var result: UInt64 { UInt64(bitPattern: -rawValue) }
}

/// The identity xkv reports to guests (`xen_version`, CPUID leaves, SMBIOS).
public enum XenIdentity {
    public static let major: UInt32 = 4
    public static let minor: UInt32 = 19
    public static let extraversion = ".0-xkv"
    /// `major.minor` plus extraversion: `4.19.0-xkv`.
    public static var versionString: String { "\(major).\(minor)\(extraversion)" }
}
