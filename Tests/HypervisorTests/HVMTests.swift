import Foundation
import KVM
import Testing
@testable import Hypervisor

/// HVM needs hardware virtualization (VT-x/AMD-V); on PVM hosts these tests are skipped and the
/// test summary says so.
let hardwareVirtualization = HostKind.detect().hasHardwareVirtualization
let noHardwareReason: Comment = "HVM needs VT-x/AMD-V; this host's KVM is \(HostKind.detect().rawValue)"

@Suite("HVM domains")
struct HVMTests {
    @Test("SMBIOS says Xen, HVM domU, the Xen version and the domain UUID, with valid checksums")
    func smbios() throws {
        let uuid = try #require(UUIDValue("12345678-9abc-4def-8123-456789abcdef"))
        let (entry, table) = SMBIOS.tables(uuid: uuid)
        #expect(Array(entry[0..<4]) == Array("_SM_".utf8))
        #expect(entry.reduce(UInt8(0), &+) == 0, "entry point checksum")
        #expect(entry[0x10..<0x1f].reduce(UInt8(0), &+) == 0, "intermediate checksum")
        #expect(Int(entry[0x16]) | Int(entry[0x17]) << 8 == table.count)
        // Walk the structures and collect each one's strings.
        var strings: [UInt8: [String]] = [:]
        var formatted: [UInt8: [UInt8]] = [:]
        var at = 0
        while at < table.count {
            let type = table[at], length = Int(table[at + 1])
            formatted[type] = Array(table[at..<at + length])
            var cursor = at + length
            var list: [String] = []
            while table[cursor] != 0 {
                let end = table[cursor...].firstIndex(of: 0)!
                list.append(String(decoding: table[cursor..<end], as: UTF8.self))
                cursor = end + 1
            }
            strings[type] = list
            at = cursor + (list.isEmpty ? 2 : 1)
            if type == 127 { break }
        }
        func string(_ type: UInt8, _ offset: Int) -> String? {
            guard let f = formatted[type], let list = strings[type], f[offset] > 0 else { return nil }
            return list[Int(f[offset]) - 1]
        }
        #expect(string(0, 4) == "Xen")
        #expect(string(1, 4) == "Xen")
        #expect(string(1, 5) == "HVM domU")
        #expect(string(1, 6) == XenIdentity.versionString)
        #expect(string(1, 7) == uuid.description)
        #expect(string(3, 4) == "Xen")
    }

    @Test("CPUID leaf 0x40000000 says XenVMMXenVMM to every guest")
    func cpuidSignature() throws {
        let engine = try Engine()
        let leaf = engine.cpuid.leaf(0x4000_0000, 0, pv: false)
        let bytes = [leaf.ebx, leaf.ecx, leaf.edx].flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        #expect(String(decoding: bytes, as: UTF8.self) == "XenVMMXenVMM")
        #expect(engine.cpuid.kvmTable.contains { $0.function == 0x4000_0000 && $0.ebx == leaf.ebx })
    }

    @Test("an HVM domain runs user system calls natively; xkv shows them as not visible",
          .enabled(if: hardwareVirtualization, noHardwareReason))
    func hvmSyscalls() throws {
        let engine = try Engine()
        var c = DomainConfig(name: "hvm")
        c.type = .hvm
        c.kernel = .builtin("hvm64")
        c.memoryMiB = 32
        let n = Int.random(in: 100...1000)
        c.cmdline = "syscalls=\(n) smbios cpuid"
        let ended = try #require(try engine.runToEnd(c, timeout: 60))
        #expect(ended.console.contains("syscalls: done \(n) ok=\(n)"), "\(ended.console)")
        #expect(ended.console.contains("manufacturer=Xen product=HVM domU"))
        #expect(ended.console.contains("XenVMMXenVMM"))
        #expect(!ended.snapshot.syscalls.visible)
        #expect(ended.snapshot.syscalls.routed == 0)
    }
}
