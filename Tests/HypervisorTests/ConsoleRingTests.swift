import GuestImages
import KVM
import Testing
@testable import Hypervisor

/// Domain-0's console backend (`Domain.drainConsoleRing`) reads indexes the guest wrote. A domain
/// is built here but never started, so the test can write its console page as a hostile guest would.
@Suite("Console ring backend")
struct ConsoleRingTests {
    /// A built, unstarted pv64 domain and the guest-physical address of its console page.
    private func builtDomain(_ engine: Engine) throws -> (Domain, UInt64) {
        let image = try ELFImage(GuestImage.builtin(named: "pv64").bytes)
        let vm = try engine.kvm.createVM()
        let nrPages: UInt64 = 16 << 8
        try vm.addMemory(guestPhysical: 0, size: nrPages << 12)
        // As Engine.buildPV lays a domain out: guest RAM, then xkv's private frames at the next 2 MiB.
        let privateBase = ((nrPages << 12) + 0x1f_ffff) & ~0x1f_ffff
        let frames = PrivateLayout(nrPages: nrPages, compat: false)
        try vm.addMemory(guestPhysical: privateBase, size: frames.count * 4096)
        let memory = PVMemory(nrPages: nrPages, privateBase: privateBase, layout: frames, compat: false, physical: vm.memory)
        let layout = try PVDomainBuilder(image: image, memory: memory, cmdline: "").build()
        let domain = Domain(id: 1, config: pv64("ring", ""), uuid: .random(), vm: vm, memory: memory, layout: layout,
                            cpuid: engine.cpuid, engineInfo: EngineInfo(capabilities: "", hostIsPVM: false))
        return (domain, layout.consoleMFN << 12)
    }

    private func setIndexes(_ domain: Domain, _ page: UInt64, cons: UInt32, prod: UInt32) throws {
        try domain.memory.physical.store(cons, at: page + UInt64(ConsoleRing.outCons))
        try domain.memory.physical.store(prod, at: page + UInt64(ConsoleRing.outProd))
    }

    @Test("indexes that wrap around 2^32 still deliver the bytes in order")
    func wrappingIndexes() throws {
        let engine = try Engine()
        let (domain, page) = try builtDomain(engine)
        let text = Array("wrapped around the ring\n".utf8)
        let cons = UInt32.max - 5
        for (i, byte) in text.enumerated() {
            let index = (cons &+ UInt32(i)) & UInt32(ConsoleRing.outputSize - 1)
            try domain.memory.physical.store(byte, at: page + UInt64(ConsoleRing.output) + UInt64(index))
        }
        try setIndexes(domain, page, cons: cons, prod: cons &+ UInt32(text.count))
        domain.drainConsoleRing()
        #expect(domain.console.text == "wrapped around the ring\n")
        #expect(try domain.memory.physical.load(UInt32.self, at: page + UInt64(ConsoleRing.outCons)) == cons &+ UInt32(text.count))
        // Drained: a second drain adds nothing.
        domain.drainConsoleRing()
        #expect(domain.console.text == "wrapped around the ring\n")
    }

    @Test("garbage indexes are reported and dropped, never read past the ring", arguments: [
        (UInt32(0), UInt32.max), (UInt32(0), UInt32(ConsoleRing.outputSize + 1)), (UInt32(100), UInt32(99)),
        (UInt32(0x8000_0000), UInt32(0x7fff_ffff)), (UInt32.random(in: 0...UInt32.max), UInt32.random(in: 0...UInt32.max)),
    ])
    func garbageIndexes(cons: UInt32, prod: UInt32) throws {
        let engine = try Engine()
        let (domain, page) = try builtDomain(engine)
        try domain.memory.physical.fill(page + UInt64(ConsoleRing.output), count: ConsoleRing.outputSize, with: UInt8(ascii: "Q"))
        try setIndexes(domain, page, cons: cons, prod: prod)
        domain.drainConsoleRing()
        let pending = prod &- cons
        if pending > UInt32(ConsoleRing.outputSize) {
            #expect(domain.console.text.contains("console ring indexes corrupt"), "cons \(cons) prod \(prod)")
            #expect(!domain.console.text.contains("Q"))
        } else {
            #expect(domain.console.text == String(repeating: "Q", count: Int(pending)))
        }
        // Either way the backend caught up, so the guest is not stuck waiting on a full ring.
        #expect(try domain.memory.physical.load(UInt32.self, at: page + UInt64(ConsoleRing.outCons)) == prod)
        #expect(domain.console.byteCount < 4096)
    }

    @Test("a full ring (prod - cons == size) is delivered whole")
    func fullRing() throws {
        let engine = try Engine()
        let (domain, page) = try builtDomain(engine)
        try domain.memory.physical.fill(page + UInt64(ConsoleRing.output), count: ConsoleRing.outputSize, with: UInt8(ascii: "y"))
        try setIndexes(domain, page, cons: 7, prod: 7 + UInt32(ConsoleRing.outputSize))
        domain.drainConsoleRing()
        #expect(domain.console.text == String(repeating: "y", count: ConsoleRing.outputSize))
    }
}
