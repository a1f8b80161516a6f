import Testing
@testable import KVM

@Suite("Guest memory")
struct GuestMemoryTests {
    let vm: VirtualMachine
    init() throws {
        vm = try KVMSystem().createVM()
        try vm.addMemory(guestPhysical: 0, size: 0x10000)
        try vm.addMemory(guestPhysical: 0x100000, size: 0x2000)
    }

    @Test("accesses inside a region work; any byte outside is refused")
    func bounds() throws {
        let memory = vm.memory
        try memory.store(UInt64(0x1122334455667788), at: 0xfff8)
        #expect(try memory.load(UInt64.self, at: 0xfff8) == 0x1122334455667788)
        #expect(throws: MemoryFault.self) { try memory.load(UInt64.self, at: 0xfff9) }
        #expect(throws: MemoryFault.self) { try memory.read(0x10000, count: 1) }
        #expect(throws: MemoryFault.self) { try memory.read(0x101fff, count: 2) }
        #expect(throws: MemoryFault.self) { try memory.read(UInt64.max - 3, count: 8) }
        #expect(throws: MemoryFault.self) { try memory.pointer(0x100000, length: UInt64.max) }
        #expect(try memory.read(0x101fff, count: 1) == [0])
    }

    @Test("a 4-level walk follows the guest's tables and checks every entry")
    func pageWalk() throws {
        let m = vm.memory
        // L4 at 0x1000 -> L3 0x2000 -> L2 0x3000 -> L1 0x4000; VA 0x400000 -> 0x8000 (rw), 0x401000 -> 0x9000 (ro).
        try m.store(UInt64(0x2000 | 7), at: 0x1000)
        try m.store(UInt64(0x3000 | 7), at: 0x2000)
        try m.store(UInt64(0x4000 | 7), at: 0x3000 + 2 * 8)
        try m.store(UInt64(0x8000 | 7), at: 0x4000)
        try m.store(UInt64(0x9000 | 5), at: 0x4000 + 8)
        // A table entry pointing outside guest memory.
        try m.store(UInt64(0x7_0000_0000 | 7), at: 0x4000 + 16)
        let v = GuestVirtualMemory(physical: m, cr3: 0x1000)
        #expect(try v.translate(0x400123) == 0x8123)
        #expect(throws: MemoryFault.readOnly(address: 0x401000)) { try v.store(UInt32(0xdeadbeef), at: 0x400ffe) }
        try v.store(UInt16(0xbeef), at: 0x400ffe)
        #expect(try m.load(UInt16.self, at: 0x8ffe) == 0xbeef)
        #expect(try v.read(0x401000, count: 4) == [0, 0, 0, 0])
        #expect(throws: MemoryFault.notPresent(address: 0x600000, level: 2)) { try v.translate(0x600000) }
        #expect(throws: MemoryFault.self) { try v.read(0x402000, count: 1) }
        #expect(throws: MemoryFault.nonCanonical(address: 0x0000_8000_0000_0000)) { try v.translate(0x0000_8000_0000_0000) }
        #expect(throws: MemoryFault.self) { try v.read(UInt64.max - 1, count: 4) }
    }
}
