import CKVM
import Glibc

/// `/dev/kvm`: the host's KVM, opened once and shared by every VM xkv creates.
public final class KVMSystem: Sendable {
    /// The open /dev/kvm file descriptor.
    let fd: Int32
    /// Size of each vCPU's shared `kvm_run` mapping.
    let vcpuMapSize: Int
    /// What kind of KVM this is (hardware or PVM).
    public let hostKind: HostKind
    /// Whether KVM_CAP_SYNC_REGS lets registers travel in `kvm_run` instead of separate ioctls.
    public let hasSyncRegisters: Bool
    /// Number of memory slots a VM may have.
    public let memorySlots: Int

    /// Opens `/dev/kvm` and checks it can host xkv's VMs. Every failure says how to fix it.
    public init(path: String = "/dev/kvm") throws(KVMError) {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw KVMSystem.openError(path: path, errno: errno) }
        let version = ckvm_ioctl_none(fd, ckvm_GET_API_VERSION)
        guard version == ckvm_API_VERSION else {
            close(fd)
            throw KVMError(operation: "KVM_GET_API_VERSION", message:
                "\(path) speaks KVM API version \(version), xkv needs \(ckvm_API_VERSION): use a Linux kernel with a standard KVM (any kernel since 2.6.22)")
        }
        let mapSize = ckvm_ioctl_none(fd, ckvm_GET_VCPU_MMAP_SIZE)
        guard mapSize > 0 else {
            close(fd)
            throw KVMError(operation: "KVM_GET_VCPU_MMAP_SIZE", errno: errno, message:
                "\(path) cannot report its vCPU mapping size: KVM cannot run a vCPU here; check `dmesg | grep kvm`")
        }
        self.fd = fd
        self.vcpuMapSize = Int(mapSize)
        self.hostKind = HostKind.detect()
        self.hasSyncRegisters = ckvm_ioctl_int(fd, ckvm_CHECK_EXTENSION, UInt(ckvm_CAP_SYNC_REGS)) > 0
        let slots = ckvm_ioctl_int(fd, ckvm_CHECK_EXTENSION, UInt(ckvm_CAP_NR_MEMSLOTS))
        self.memorySlots = slots > 0 ? Int(slots) : 32
    }

    deinit { close(fd) }

    static func openError(path: String, errno: Int32) -> KVMError {
        let message: String
        switch errno {
        case ENOENT, ENODEV, ENXIO:
            message = "\(path) does not exist: load a KVM module (`modprobe kvm_intel`, `kvm_amd` or `kvm_pvm`) and enable virtualization in the firmware"
        case EACCES, EPERM:
            message = "no permission to open \(path): add your user to the 'kvm' group (`sudo usermod -aG kvm $USER`, then log in again) or run as root"
        default:
            message = "cannot open \(path): \(String(cString: strerror(errno)))"
        }
        return KVMError(operation: "open \(path)", errno: errno, message: message)
    }

    /// Asks KVM whether it supports `capability` (a KVM_CAP_* number); returns its value, 0 if not.
    public func check(capability: Int32) -> Int {
        Int(max(0, ckvm_ioctl_int(fd, ckvm_CHECK_EXTENSION, UInt(capability))))
    }

    /// The CPUID leaves KVM can give a guest (KVM_GET_SUPPORTED_CPUID).
    public func supportedCPUID() throws(KVMError) -> [CPUIDEntry] {
        var capacity: UInt32 = 128
        while capacity <= 4096 {
            guard let table = ckvm_cpuid_alloc(capacity) else {
                throw KVMError(operation: "KVM_GET_SUPPORTED_CPUID", message: "out of memory")
            }
            defer { free(table) }
            if ckvm_ioctl_ptr(fd, ckvm_GET_SUPPORTED_CPUID, table) == 0 {
                let entries = ckvm_cpuid_entries(table)!
                return (0..<Int(table.pointee.nent)).map { CPUIDEntry(entries[$0]) }
            }
            guard errno == E2BIG else { throw .ioctl("KVM_GET_SUPPORTED_CPUID") }
            capacity *= 2
        }
        throw KVMError(operation: "KVM_GET_SUPPORTED_CPUID", message: "KVM_GET_SUPPORTED_CPUID: table too large")
    }

    /// Creates an empty VM (no memory, no vCPUs).
    public func createVM() throws(KVMError) -> VirtualMachine {
        var vmfd: Int32 = -1
        for _ in 0..<3 {
            vmfd = ckvm_ioctl_int(fd, ckvm_CREATE_VM, 0)
            if vmfd >= 0 || errno != EINTR { break }
        }
        guard vmfd >= 0 else {
            throw KVMError(operation: "KVM_CREATE_VM", errno: errno, message:
                "KVM_CREATE_VM failed: \(String(cString: strerror(errno))); KVM cannot create VMs here, check `dmesg | grep kvm`")
        }
        return VirtualMachine(system: self, fd: vmfd)
    }

    /// Proves KVM can run a vCPU: boots a one-instruction guest (`out` to a port) and checks the exit.
    public func selfTest() throws(KVMError) {
        let vm = try createVM()
        let memory = try vm.addMemory(guestPhysical: 0, size: 0x1000)
        // 16-bit real mode at 0:0 (KVM's reset state after we move cs): out %al,$0x77; hlt.
        do { try memory.write([0xe6, 0x77, 0xf4], at: 0) } catch {
            throw KVMError(operation: "self-test", message: "cannot write the self-test guest: \(error)")
        }
        let vcpu = try vm.createVCPU(id: 0)
        var sregs = try vcpu.fetchSpecialRegisters()
        sregs.cs.base = 0
        sregs.cs.selector = 0
        vcpu.specialRegisters = sregs
        var regs = kvm_regs()
        regs.rip = 0
        regs.rflags = 2
        vcpu.registers = regs
        let exit = try vcpu.run()
        guard case .io(let io) = exit, io.port == 0x77 else {
            throw KVMError(operation: "KVM_RUN", message:
                "KVM cannot run a vCPU here: a one-instruction test guest ended with \(exit.reasonName) instead of port I/O; check `dmesg | grep kvm`")
        }
    }
}

/// One CPUID leaf as KVM describes it.
public struct CPUIDEntry: Sendable, Equatable {
    public var function: UInt32
    public var index: UInt32
    public var flags: UInt32
    public var eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32

    public init(function: UInt32, index: UInt32 = 0, flags: UInt32 = 0, eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32) {
        self.function = function; self.index = index; self.flags = flags
        self.eax = eax; self.ebx = ebx; self.ecx = ecx; self.edx = edx
    }

    init(_ e: kvm_cpuid_entry2) {
        self.init(function: e.function, index: e.index, flags: e.flags, eax: e.eax, ebx: e.ebx, ecx: e.ecx, edx: e.edx)
    }

    var raw: kvm_cpuid_entry2 {
        var e = kvm_cpuid_entry2()
        e.function = function; e.index = index; e.flags = flags
        e.eax = eax; e.ebx = ebx; e.ecx = ecx; e.edx = edx
        return e
    }
}
