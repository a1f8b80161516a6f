import CKVM
import Glibc
import Synchronization

/// One KVM VM: an address space of memory slots and the vCPUs that run in it.
public final class VirtualMachine: Sendable {
    public let system: KVMSystem
    let fd: Int32
    private let slots = Mutex<[MemoryRegion]>([])

    init(system: KVMSystem, fd: Int32) {
        self.system = system
        self.fd = fd
    }

    deinit { close(fd) }

    /// Every memory region of this VM, lowest guest-physical address first.
    public var memory: GuestPhysicalMemory {
        GuestPhysicalMemory(regions: slots.withLock { $0 })
    }

    /// Backs `size` bytes of guest-physical space at `guestPhysical` with fresh zeroed host memory.
    /// Both must be page aligned. Fails with a clear error when the host cannot give the memory.
    @discardableResult
    public func addMemory(guestPhysical: UInt64, size: UInt64) throws(KVMError) -> MemoryRegion {
        guard size > 0, size % 4096 == 0, guestPhysical % 4096 == 0 else {
            throw KVMError(operation: "KVM_SET_USER_MEMORY_REGION", message: "memory region \(guestPhysical.hex)+\(size.hex) is not page aligned")
        }
        let region = try MemoryRegion(guestPhysical: guestPhysical, size: size)
        let slot = try slots.withLock { regions throws(KVMError) -> UInt32 in
            guard regions.count < system.memorySlots else {
                throw KVMError(operation: "KVM_SET_USER_MEMORY_REGION", message: "out of KVM memory slots (\(system.memorySlots))")
            }
            return UInt32(regions.count)
        }
        var descriptor = kvm_userspace_memory_region()
        descriptor.slot = slot
        descriptor.guest_phys_addr = guestPhysical
        descriptor.memory_size = size
        descriptor.userspace_addr = UInt64(UInt(bitPattern: region.host))
        guard ckvm_ioctl_ptr(fd, ckvm_SET_USER_MEMORY_REGION, &descriptor) == 0 else {
            throw KVMError.ioctl("KVM_SET_USER_MEMORY_REGION")
        }
        slots.withLock {
            $0.append(region)
            $0.sort { $0.guestPhysical < $1.guestPhysical }
        }
        return region
    }

    /// Tells KVM where its real-mode TSS may live (needed on Intel before the first run).
    public func setTSSAddress(_ address: UInt64) throws(KVMError) {
        guard ckvm_ioctl_int(fd, ckvm_SET_TSS_ADDR, UInt(address)) == 0 else { throw .ioctl("KVM_SET_TSS_ADDR") }
    }

    /// Creates vCPU `id`, maps its `kvm_run` and turns on register sync where KVM has it.
    public func createVCPU(id: Int) throws(KVMError) -> VirtualCPU {
        let vcpufd = ckvm_ioctl_int(fd, ckvm_CREATE_VCPU, UInt(id))
        guard vcpufd >= 0 else { throw .ioctl("KVM_CREATE_VCPU") }
        return try VirtualCPU(vm: self, fd: vcpufd, id: id)
    }
}

/// Host memory backing one range of guest-physical space. Freed when the last reference goes.
public final class MemoryRegion: @unchecked Sendable {
    /// Host address of the first byte. Guest memory is shared with running vCPUs: every read of
    /// it is of untrusted, possibly changing data.
    public let host: UnsafeMutableRawPointer
    public let guestPhysical: UInt64
    public let size: UInt64

    init(guestPhysical: UInt64, size: UInt64) throws(KVMError) {
        guard size <= UInt64(Int.max) else {
            throw KVMError(operation: "mmap", message: "guest memory of \(size) bytes is more than this host can address")
        }
        let pointer = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let pointer, pointer != MAP_FAILED else {
            throw KVMError(operation: "mmap", errno: errno, message:
                "the host cannot give \(size / (1024 * 1024)) MiB of guest memory: \(String(cString: strerror(errno)))")
        }
        self.host = pointer
        self.guestPhysical = guestPhysical
        self.size = size
    }

    deinit { munmap(host, Int(size)) }

    /// Copies `bytes` into the region at `offset` (an offset, not a guest address).
    public func write(_ bytes: [UInt8], at offset: UInt64) throws(MemoryFault) {
        guard offset <= size, UInt64(bytes.count) <= size - offset else {
            throw .outOfRange(address: guestPhysical &+ offset, length: UInt64(bytes.count))
        }
        bytes.withUnsafeBytes { host.advanced(by: Int(offset)).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }
}

extension UInt64 {
    /// `0x`-prefixed lower-case hex.
    public var hex: String { "0x" + String(self, radix: 16) }
}
