import KVM

/// Device models Domain-0 provides to HVM domains, and how their vCPU exits are handled: the
/// guest owns ring 0, so only its port I/O, hlt and faults of its own making reach xkv.
/// Its system calls never do (they stay inside the VM, as on Xen).
extension PVVCPU {
    /// Xen's HVM debug console port.
    static let hvmDebugPort: UInt16 = 0xe9
    /// xkv's power port: 0 powers off, 3 crashes (what the HVM test kernel writes).
    static let hvmPowerPort: UInt16 = 0xf4

    func handleHVM(_ exit: VMExit) -> ExitOutcome {
        switch exit {
        case .io(let io):
            if io.direction == .output && io.port == Self.hvmDebugPort {
                let bytes = Array(UnsafeRawBufferPointer(start: io.data, count: io.size * io.count))
                domain.console.append(bytes)
                return .resume
            }
            if io.direction == .output && io.port == Self.hvmPowerPort {
                let value = io.data.load(as: UInt8.self)
                domain.guestShutdown(reason: value == 3 ? .crash : .poweroff, vcpu: id)
                return .stop
            }
            // No device behind other ports: reads float high, writes vanish (as on a bare ISA bus).
            if io.direction == .input { io.data.initializeMemory(as: UInt8.self, repeating: 0xff, count: io.size * io.count) }
            return .resume
        case .mmio(let access):
            if !access.isWrite { access.data.initializeMemory(as: UInt8.self, repeating: 0xff, count: access.length) }
            return .resume
        case .halt:
            return .block
        case .interrupted:
            return .resume
        case .shutdown:
            return crash("triple fault (KVM_EXIT_SHUTDOWN) at rip \(vcpu.registers.rip.hex)")
        case .internalError(let sub):
            return crash("KVM could not emulate an instruction (internal error \(sub)) at rip \(vcpu.registers.rip.hex)")
        case .failEntry(let reason):
            return crash("KVM could not enter the guest (hardware reason \(reason.hex))")
        case .systemEvent(let type):
            return crash("KVM system event \(type)")
        case .other(let reason):
            return crash("unexpected KVM exit reason \(reason)")
        }
    }
}
