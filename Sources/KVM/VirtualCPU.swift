import CKVM
import Glibc
import Synchronization

/// One vCPU of a VM. KVM_RUN blocks, so a VirtualCPU is run by exactly one dedicated thread at a
/// time; other threads may only `kick` it.
///
/// Registers travel in the shared `kvm_run` page (KVM_CAP_SYNC_REGS) where KVM has it, so the
/// exit path needs no GET/SET_REGS ioctls: KVM stores them on every exit and loads the ones marked
/// dirty on the next entry.
public final class VirtualCPU: @unchecked Sendable {
    public let id: Int
    public let vm: VirtualMachine
    let fd: Int32
    let runPage: UnsafeMutablePointer<kvm_run>
    let mapSize: Int
    /// Whether registers come through `kvm_run` (KVM_CAP_SYNC_REGS).
    public let usesSyncRegisters: Bool
    private var pendingRegisters: kvm_regs?
    private var pendingSpecialRegisters: kvm_sregs?
    private let runningThread = Atomic<UInt>(0)

    /// The signal that kicks a vCPU thread out of KVM_RUN.
    static let kickSignal = SIGUSR2
    private static let installKick: Void = { _ = ckvm_install_kick_handler(kickSignal) }()

    init(vm: VirtualMachine, fd: Int32, id: Int) throws(KVMError) {
        _ = VirtualCPU.installKick
        let size = vm.system.vcpuMapSize
        let mapping = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let mapping, mapping != MAP_FAILED else {
            close(fd)
            throw KVMError.ioctl("mmap kvm_run")
        }
        self.id = id
        self.vm = vm
        self.fd = fd
        self.mapSize = size
        self.runPage = mapping.assumingMemoryBound(to: kvm_run.self)
        self.usesSyncRegisters = vm.system.hasSyncRegisters
        if usesSyncRegisters {
            // Seed the shared copies so reads before the first run see real state.
            var regs = kvm_regs()
            var sregs = kvm_sregs()
            guard ckvm_ioctl_ptr(fd, ckvm_GET_REGS, &regs) == 0 else { throw .ioctl("KVM_GET_REGS") }
            guard ckvm_ioctl_ptr(fd, ckvm_GET_SREGS, &sregs) == 0 else { throw .ioctl("KVM_GET_SREGS") }
            ckvm_run_sync_regs(runPage).pointee.regs = regs
            ckvm_run_sync_regs(runPage).pointee.sregs = sregs
            runPage.pointee.kvm_valid_regs = ckvm_SYNC_REGS | ckvm_SYNC_SREGS
        }
    }

    deinit {
        munmap(runPage, mapSize)
        close(fd)
    }

    // MARK: Registers

    /// General-purpose registers, rip and rflags. Setting marks them for loading at the next entry.
    public var registers: kvm_regs {
        get {
            if usesSyncRegisters { return ckvm_run_sync_regs(runPage).pointee.regs }
            if let pendingRegisters { return pendingRegisters }
            var regs = kvm_regs()
            _ = ckvm_ioctl_ptr(fd, ckvm_GET_REGS, &regs)
            return regs
        }
        set {
            if usesSyncRegisters {
                ckvm_run_sync_regs(runPage).pointee.regs = newValue
                runPage.pointee.kvm_dirty_regs |= ckvm_SYNC_REGS
            } else {
                pendingRegisters = newValue
            }
        }
    }

    /// Segment, control and descriptor-table registers.
    public var specialRegisters: kvm_sregs {
        get {
            if usesSyncRegisters { return ckvm_run_sync_regs(runPage).pointee.sregs }
            if let pendingSpecialRegisters { return pendingSpecialRegisters }
            return (try? fetchSpecialRegisters()) ?? kvm_sregs()
        }
        set {
            if usesSyncRegisters {
                ckvm_run_sync_regs(runPage).pointee.sregs = newValue
                runPage.pointee.kvm_dirty_regs |= ckvm_SYNC_SREGS
            } else {
                pendingSpecialRegisters = newValue
            }
        }
    }

    /// Edits the registers in place (one copy each way at most).
    @inline(__always)
    public func withRegisters<R>(_ body: (inout kvm_regs) throws -> R) rethrows -> R {
        if usesSyncRegisters {
            runPage.pointee.kvm_dirty_regs |= ckvm_SYNC_REGS
            return try body(&ckvm_run_sync_regs(runPage).pointee.regs)
        }
        var regs = registers
        defer { registers = regs }
        return try body(&regs)
    }

    /// Reads the special registers with KVM_GET_SREGS (bypassing the sync copy).
    public func fetchSpecialRegisters() throws(KVMError) -> kvm_sregs {
        var sregs = kvm_sregs()
        guard ckvm_ioctl_ptr(fd, ckvm_GET_SREGS, &sregs) == 0 else { throw .ioctl("KVM_GET_SREGS") }
        return sregs
    }

    /// Writes model-specific registers (KVM_SET_MSRS); all must be accepted.
    public func setMSRs(_ values: [(index: UInt32, value: UInt64)]) throws(KVMError) {
        guard let msrs = ckvm_msrs_alloc(UInt32(values.count)) else {
            throw KVMError(operation: "KVM_SET_MSRS", message: "out of memory")
        }
        defer { free(msrs) }
        let entries = ckvm_msrs_entries(msrs)!
        for (i, msr) in values.enumerated() {
            entries[i].index = msr.index
            entries[i].data = msr.value
        }
        let written = ckvm_ioctl_ptr(fd, ckvm_SET_MSRS, msrs)
        guard written == values.count else {
            let bad = written >= 0 && Int(written) < values.count ? values[Int(written)].index : 0
            throw KVMError(operation: "KVM_SET_MSRS", errno: errno, message: "KVM refused MSR 0x\(String(bad, radix: 16))")
        }
    }

    /// Reads one model-specific register (KVM_GET_MSRS).
    public func msr(_ index: UInt32) throws(KVMError) -> UInt64 {
        guard let msrs = ckvm_msrs_alloc(1) else { throw KVMError(operation: "KVM_GET_MSRS", message: "out of memory") }
        defer { free(msrs) }
        ckvm_msrs_entries(msrs)![0].index = index
        guard ckvm_ioctl_ptr(fd, ckvm_GET_MSRS, msrs) == 1 else {
            throw KVMError(operation: "KVM_GET_MSRS", errno: errno, message: "KVM cannot read MSR 0x\(String(index, radix: 16))")
        }
        return ckvm_msrs_entries(msrs)![0].data
    }

    /// Sets the CPUID leaves the guest sees (KVM_SET_CPUID2).
    public func setCPUID(_ entries: [CPUIDEntry]) throws(KVMError) {
        guard let table = ckvm_cpuid_alloc(UInt32(entries.count)) else {
            throw KVMError(operation: "KVM_SET_CPUID2", message: "out of memory")
        }
        defer { free(table) }
        let raw = ckvm_cpuid_entries(table)!
        for (i, e) in entries.enumerated() { raw[i] = e.raw }
        guard ckvm_ioctl_ptr(fd, ckvm_SET_CPUID2, table) == 0 else { throw .ioctl("KVM_SET_CPUID2") }
    }

    /// Queues a hardware exception for delivery through the guest's own IDT at the next entry
    /// (used for HVM guests; PV exceptions are bounced by the engine instead).
    public func injectException(vector: UInt8, errorCode: UInt32? = nil) throws(KVMError) {
        var events = kvm_vcpu_events()
        guard ckvm_ioctl_ptr(fd, ckvm_GET_VCPU_EVENTS, &events) == 0 else { throw .ioctl("KVM_GET_VCPU_EVENTS") }
        events.exception.injected = 1
        events.exception.nr = vector
        events.exception.has_error_code = errorCode == nil ? 0 : 1
        events.exception.error_code = errorCode ?? 0
        guard ckvm_ioctl_ptr(fd, ckvm_SET_VCPU_EVENTS, &events) == 0 else { throw .ioctl("KVM_SET_VCPU_EVENTS") }
    }

    // MARK: Running

    /// Enters the guest until the next exit and decodes it. Call from the vCPU's own thread.
    public func run() throws(KVMError) -> VMExit {
        if !usesSyncRegisters { try flushPending() }
        if ckvm_ioctl_none(fd, ckvm_RUN) < 0 {
            let error = errno
            if error == EINTR || error == EAGAIN {
                runPage.pointee.immediate_exit = 0
                return .interrupted
            }
            throw .ioctl("KVM_RUN", errno: error)
        }
        return decodeExit()
    }

    @inline(__always)
    private func decodeExit() -> VMExit {
        let r = runPage.pointee
        switch r.exit_reason {
        case ckvm_EXIT_IO:
            return .io(PortIO(port: r.io.port, direction: r.io.direction == ckvm_EXIT_IO_IN ? .input : .output,
                              size: Int(r.io.size), count: Int(r.io.count), data: UnsafeMutableRawPointer(ckvm_run_io_data(runPage))))
        case ckvm_EXIT_MMIO:
            let data = UnsafeMutableRawPointer(runPage).advanced(by: MemoryLayout<kvm_run>.offset(of: \kvm_run.mmio.data)!)
            return .mmio(MMIOAccess(address: r.mmio.phys_addr, isWrite: r.mmio.is_write != 0, length: Int(r.mmio.len), data: data))
        case ckvm_EXIT_HLT: return .halt
        case ckvm_EXIT_SHUTDOWN: return .shutdown
        case ckvm_EXIT_FAIL_ENTRY: return .failEntry(r.fail_entry.hardware_entry_failure_reason)
        case ckvm_EXIT_INTERNAL_ERROR: return .internalError(r.internal.suberror)
        case ckvm_EXIT_INTR: return .interrupted
        case ckvm_EXIT_SYSTEM_EVENT: return .systemEvent(r.system_event.type)
        default: return .other(r.exit_reason)
        }
    }

    private func flushPending() throws(KVMError) {
        if var regs = pendingRegisters {
            guard ckvm_ioctl_ptr(fd, ckvm_SET_REGS, &regs) == 0 else { throw .ioctl("KVM_SET_REGS") }
            pendingRegisters = nil
        }
        if var sregs = pendingSpecialRegisters {
            guard ckvm_ioctl_ptr(fd, ckvm_SET_SREGS, &sregs) == 0 else { throw .ioctl("KVM_SET_SREGS") }
            pendingSpecialRegisters = nil
        }
    }

    /// Records the calling thread as the one that runs this vCPU, so `kick` can reach it.
    public func bindToCurrentThread() {
        _ = ckvm_unblock_signal(VirtualCPU.kickSignal)
        runningThread.store(ckvm_self_thread(), ordering: .releasing)
    }

    /// Releases the binding made by `bindToCurrentThread`.
    public func unbindThread() { runningThread.store(0, ordering: .releasing) }

    /// Makes the vCPU leave KVM_RUN soon (returning `.interrupted`), or not enter it next time.
    /// Safe from any thread.
    public func kick() {
        runPage.pointee.immediate_exit = 1
        let thread = runningThread.load(ordering: .acquiring)
        if thread != 0 { _ = ckvm_kick_thread(thread, VirtualCPU.kickSignal) }
    }

    /// The raw C loop `xkv bench` measures xkv's exit path against: `count` KVM_RUNs that must each
    /// be a port-I/O exit on `port`; returns nanoseconds, nil on an unexpected exit.
    public func baselineIOLoop(port: UInt16, count: UInt64) -> UInt64? {
        let saved = runPage.pointee.kvm_valid_regs
        runPage.pointee.kvm_valid_regs = 0
        defer { runPage.pointee.kvm_valid_regs = saved }
        let ns = ckvm_baseline_io_loop(fd, runPage, port, count)
        return ns >= 0 ? UInt64(ns) : nil
    }

    /// Chooses what KVM copies out on each exit: registers only (`false`) or also special registers.
    public func syncSpecialRegistersOnExit(_ enabled: Bool) {
        guard usesSyncRegisters else { return }
        runPage.pointee.kvm_valid_regs = ckvm_SYNC_REGS | (enabled ? ckvm_SYNC_SREGS : 0)
    }
}
