import Testing
@testable import Hypervisor

@Suite("PV64 boot", .serialized)
struct PV64BootTests {
    @Test("echo appears on the console and the domain powers off")
    func echo() throws {
        let engine = try Engine()
        var config = DomainConfig(name: "echo")
        config.cmdline = "echo=hello-xkv"
        config.onPoweroff = .preserve
        try engine.execute(.create(config))
        let done = engine.waitUntil(timeout: 20) { $0.domain("echo")?.state.shutdown == true || $0.domain("echo")?.state.crashed == true }
        let text = try engine.consoleText("echo")
        print(text)
        print(engine.snapshot().events.map(\.message))
        #expect(done)
        #expect(text.contains("hello-xkv"))
    }
}
