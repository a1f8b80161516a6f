import Testing
@testable import Hypervisor

/// PVM compensations (Platform/PVMCompensation.swift) fire exactly when the host needs them:
/// on PVM every hypercall's `syscall` reaches xkv at CPL 3, on hardware none does.
@Suite("PVM compensations")
struct CompensationTests {
    @Test("syscall_at_cpl3 counts every hypercall on PVM and none on hardware; m2p_alias once on PVM")
    func syscallAtCPL3() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        let n = UInt64.random(in: 100...1000)
        let ended = try #require(try engine.runToEnd(pv64("compensate", "hypercalls=\(n)")))
        let counters = ended.snapshot.counters
        let syscallAtCPL3 = counters.compensations[PVMCompensation.syscallAtCPL3.rawValue]
        let m2pAlias = counters.compensations[PVMCompensation.m2pAlias.rawValue]
        let summary = try #require(GuestSummary(console: ended.console))
        #expect(counters.totalHypercalls == summary.hypercalls)

        if engine.host.kindShort == "pvm" {
            #expect(!engine.host.hardwareVirtualization)
            #expect(syscallAtCPL3 == counters.totalHypercalls, "N = \(n)")
            // console_init asks for XENMEM_machphys_mapping once.
            #expect(m2pAlias == 1)
        } else {
            #expect(syscallAtCPL3 == 0)
            #expect(m2pAlias == 0)
        }
        // The pv64 kernel never does port I/O nor `int $N`.
        #expect(counters.compensations[PVMCompensation.entryPortFromGuest.rawValue] == 0)
        #expect(counters.compensations[PVMCompensation.softwareInterruptAsUD.rawValue] == 0)
    }
}
