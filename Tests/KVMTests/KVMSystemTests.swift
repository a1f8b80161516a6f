import Testing
@testable import KVM

@Suite("KVM system")
struct KVMSystemTests {
    @Test("opens /dev/kvm and runs a one-instruction guest")
    func selfTest() throws {
        let kvm = try KVMSystem()
        try kvm.selfTest()
        #expect(kvm.hasSyncRegisters)
    }

    @Test("a missing device names the fix")
    func missingDevice() {
        #expect(throws: KVMError.self) { try KVMSystem(path: "/dev/no-such-kvm") }
        do {
            _ = try KVMSystem(path: "/dev/no-such-kvm")
        } catch {
            #expect(error.message.contains("modprobe"))
        }
    }

    @Test("no permission names the kvm group")
    func noPermission() {
        let error = KVMSystem.openError(path: "/dev/kvm", errno: 13)
        #expect(error.message.contains("kvm' group"))
    }

    @Test("detects the host kind the kernel modules say")
    func hostKind() {
        let kind = HostKind.detect()
        let flags = HostKind.cpuFlags()
        if flags.contains("vmx") || flags.contains("svm") {
            #expect(kind.hasHardwareVirtualization || kind == .pvm)
        } else {
            // No VT-x/AMD-V in the CPU flags, yet /dev/kvm works: that is PVM (or something unknown).
            #expect(!kind.hasHardwareVirtualization)
        }
    }
}
