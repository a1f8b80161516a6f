/// Byte layouts of the Xen ABI structures xkv reads and writes in guest memory, in one place.
/// Offsets are from `public/xen.h`, `public/arch-x86/xen.h`, `public/callback.h` and
/// `public/io/console.h` (see XEN-ABI.md); `Tests/HypervisorTests/LayoutTests.swift` checks them.
public enum StartInfo64 {
    public static let size = 1168
    public static let magic = 0, magicLength = 32
    public static let nrPages = 32
    public static let sharedInfo = 40
    public static let flags = 48
    public static let storeMFN = 56
    public static let storeEvtchn = 64
    public static let consoleMFN = 72
    public static let consoleEvtchn = 80
    public static let ptBase = 88
    public static let nrPtFrames = 96
    public static let mfnList = 104
    public static let modStart = 112
    public static let modLength = 120
    public static let cmdLine = 128, cmdLineLength = 1024
    public static let firstP2MPFN = 1152
    public static let nrP2MFrames = 1160
    public static let magicValue = "xen-3.0-x86_64"
}

/// `struct start_info` as a 32-bit (compat) guest sees it.
public enum StartInfo32 {
    public static let size = 1112
    public static let magic = 0
    public static let nrPages = 32
    public static let sharedInfo = 36
    public static let flags = 40
    public static let storeMFN = 44
    public static let storeEvtchn = 48
    public static let consoleMFN = 52
    public static let consoleEvtchn = 56
    public static let ptBase = 60
    public static let nrPtFrames = 64
    public static let mfnList = 68
    public static let modStart = 72
    public static let modLength = 76
    public static let cmdLine = 80
    public static let firstP2MPFN = 1104
    public static let nrP2MFrames = 1108
    public static let magicValue = "xen-3.0-x86_32p"
}

/// `struct trap_info` (32-bit): {vector, flags, cs, address (u32)}.
public enum TrapInfo32 {
    public static let size = 8
    public static let vector = 0, flags = 1, cs = 2, address = 4
}

/// `struct callback_register` (32-bit): address is {cs, eip}.
public enum CallbackRegister32 {
    public static let size = 12
    public static let type = 0, flags = 2, cs = 4, eip = 8
}

/// `struct trap_info` (64-bit): one entry of a virtual IDT.
public enum TrapInfo64 {
    public static let size = 16
    public static let vector = 0
    public static let flags = 1
    public static let cs = 2
    public static let address = 8
}

/// `struct callback_register` (64-bit).
public enum CallbackRegister64 {
    public static let size = 16
    public static let type = 0
    public static let flags = 2
    public static let address = 8
}

/// `struct xencons_interface`: the PV console ring page.
public enum ConsoleRing {
    public static let input = 0, inputSize = 1024
    public static let output = 1024, outputSize = 2048
    public static let inCons = 3072
    public static let inProd = 3076
    public static let outCons = 3080
    public static let outProd = 3084
}

/// `struct shared_info` and `struct vcpu_info` (64-bit).
public enum SharedInfo64 {
    public static let vcpuInfoSize = 64
    public static let maxVCPUs = 32
    public static let upcallPending = 0
    public static let upcallMask = 1
    public static let pendingSelector = 8
    public static let cr2 = 16
    public static let evtchnPending = 2048
    public static let evtchnMask = 2560
}

/// `struct iret_context` (64-bit), what HYPERVISOR_iret pops.
public enum IretContext64 {
    public static let size = 72
    public static let rax = 0, r11 = 8, rcx = 16, flags = 24, rip = 32, cs = 40, rflags = 48, rsp = 56, ss = 64
    public static let inSyscall: UInt64 = 1 << 8
}

/// `struct evtchn_status`.
public enum EvtchnStatus {
    public static let size = 24
    public static let dom = 0, port = 4, status = 8, vcpu = 12, remoteDom = 16, remotePort = 20
    public static let closed: UInt32 = 0, unbound: UInt32 = 1, interdomain: UInt32 = 2
}

/// `struct gnttab_setup_table` (64-bit).
public enum GnttabSetupTable {
    public static let size = 24
    public static let dom = 0, nrFrames = 4, status = 8, frameList = 16
}

/// `struct mmu_update` and `struct mmuext_op` (64-bit).
public enum MMUUpdateRequest {
    public static let size = 16
    public static let ptr = 0, val = 8
}

public enum MMUExtOp64 {
    public static let size = 24
    public static let cmd = 0, arg1 = 8, arg2 = 16
}
