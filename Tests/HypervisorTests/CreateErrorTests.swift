import Foundation
import Testing
@testable import Hypervisor

/// `create` refuses what it cannot do with a DomainError that says why, and leaves no domain behind.
@Suite("Create errors")
struct CreateErrorTests {
    /// The error `create` throws for `config`, or nil if it created the domain.
    private func createError(_ engine: Engine, _ config: DomainConfig) -> DomainError? {
        do {
            try engine.execute(.create(config))
            return nil
        } catch {
            return error
        }
    }

    @Test("an unknown builtin image is refused, naming the images there are")
    func unknownBuiltin() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        var config = pv64("nope", "")
        config.kernel = KernelSource("builtin:nope")
        let error = try #require(createError(engine, config))
        guard case .badImage(let message) = error else {
            Issue.record("expected .badImage, got \(error)")
            return
        }
        #expect(message.contains("builtin:nope"))
        #expect(message.contains("builtin:pv64"), "message: \(message)")
        #expect(engine.snapshot().domain("nope") == nil)
    }

    @Test("a kernel file that does not exist, or is not a Xen PV ELF, is refused")
    func badFiles() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        var missing = pv64("missing", "")
        missing.kernel = .file("/nonexistent/xkv-kernel-\(UInt32.random(in: 0...UInt32.max))")
        #expect(createError(engine, missing).map { if case .badImage = $0 { true } else { false } } == true)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("xkv-not-elf-\(UInt32.random(in: 0...UInt32.max))").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data("#!/bin/sh\necho not a kernel\n".utf8)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var text = pv64("text", "")
        text.kernel = .file(path)
        let error = createError(engine, text)
        #expect(error?.description.contains("not an ELF") == true, "\(String(describing: error))")
        #expect(engine.snapshot().domains.isEmpty)
    }

    @Test("memory beyond what the host has available is refused as hostCannotGive",
          .enabled(if: CreateErrorTests.overAskMiB != nil, "MemAvailable + 1 GiB is above the 64 GiB a domain may ask for"))
    func memoryBeyondHost() throws {
        let ask = try #require(Self.overAskMiB)
        let engine = try Engine()
        defer { engine.shutdownAll() }
        var config = pv64("hog", "")
        config.memoryMiB = ask
        let error = try #require(createError(engine, config))
        guard case .hostCannotGive(let message) = error else {
            Issue.record("expected .hostCannotGive, got \(error)")
            return
        }
        #expect(message.contains("\(ask)"), "message: \(message)")
        #expect(engine.snapshot().domain("hog") == nil)
    }

    @Test("type=hvm without VT-x/AMD-V is refused, saying it needs hardware virtualization")
    func hvmWithoutHardware() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        var config = pv64("hvm", "")
        config.type = .hvm
        let error = try #require(createError(engine, config))
        guard case .unsupported(let message) = error else {
            Issue.record("expected .unsupported, got \(error)")
            return
        }
        if !engine.host.hardwareVirtualization {
            #expect(message.contains("hardware virtualization"), "message: \(message)")
            #expect(message.contains(engine.host.kind))
        }
        #expect(engine.snapshot().domain("hvm") == nil)
    }

    @Test("a second domain with a live domain's name is refused; the first is untouched")
    func duplicateName() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        let firstID = try #require(try engine.execute(.create(pv64("twin", "idle"))))
        engine.waitForDomain("twin", "blocked") { $0.state.blocked }
        #expect(createError(engine, pv64("twin", "echo=second")) == .nameInUse("twin"))
        let snap = engine.snapshot()
        #expect(snap.domains.filter { $0.name == "twin" }.map(\.id) == [firstID])
        #expect(snap.domain("twin")?.cmdline == "idle")

        // Once it is gone, the name is free again.
        try engine.execute(.destroy("twin"))
        let ended = try #require(try engine.runToEnd(pv64("twin", "echo=second")))
        #expect(ended.snapshot.id != firstID)
        #expect(ended.console.contains("\nsecond\n"))
    }

    @Test("reserved names, zero vCPUs and zero memory are refused")
    func invalidConfigs() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        #expect(createError(engine, pv64("Domain-0", "")) != nil)
        #expect(createError(engine, pv64("", "")) != nil)
        var noVCPUs = pv64("novcpu", "")
        noVCPUs.vcpus = 0
        #expect(createError(engine, noVCPUs) != nil)
        #expect(createError(engine, pv64("nomem", "", memoryMiB: 0)) != nil)
        var tooBig = pv64("toobig", "")
        tooBig.memoryMiB = DomainConfig.maximumMemoryMiB + 1
        #expect(createError(engine, tooBig) != nil)
        #expect(engine.snapshot().domains.isEmpty)
    }

    @Test("a domain too small for the kernel's initial mapping is refused as tooLittleMemory")
    func tooLittleMemory() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        let error = try #require(createError(engine, pv64("tiny", "", memoryMiB: 1)))
        guard case .tooLittleMemory = error else {
            Issue.record("expected .tooLittleMemory, got \(error)")
            return
        }
    }

    /// A memory size above MemAvailable that a domain may still ask for, if there is one.
    static var overAskMiB: Int? {
        guard let available = memAvailableMiB() else { return nil }
        let ask = available + 1024
        return ask <= DomainConfig.maximumMemoryMiB ? ask : nil
    }

    /// MemAvailable from /proc/meminfo, in MiB.
    static func memAvailableMiB() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix("MemAvailable:") }
        return line?.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 / 1024 }
    }
}
