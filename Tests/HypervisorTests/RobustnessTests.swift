import Foundation
import GuestImages
import Testing
@testable import Hypervisor

/// Damaged kernels: every one must be refused with a DomainError, or run and end (shut down,
/// crash, or be destroyed after a short wait). A Swift trap anywhere ends the test process, which
/// is the failure these tests exist to catch.
@Suite("Robustness against damaged kernels")
struct RobustnessTests {
    /// SplitMix64: small, seedable, the same sequence on every run.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }

    /// The pv64 file's regions, as its own headers give them.
    struct Regions {
        var headers: [Range<Int>]   // ELF header, program headers, the Xen notes
        var code: Range<Int>        // the executable segment minus the hypercall page (the builder rewrites that)
        var hypercallPage: Range<Int>

        init(_ bytes: [UInt8]) throws {
            let image = try ELFImage(bytes)
            let phoff = Int(Self.u64(bytes, 32)), phnum = Int(Self.u16(bytes, 56)), phentsize = Int(Self.u16(bytes, 54))
            headers = [0..<64, phoff..<phoff + phnum * phentsize]
            var exec: Range<Int>?
            var virtToFile: (UInt64, Int)?
            for i in 0..<phnum {
                let ph = phoff + i * phentsize
                let type = Self.u32(bytes, ph), flags = Self.u32(bytes, ph + 4)
                let offset = Int(Self.u64(bytes, ph + 8)), size = Int(Self.u64(bytes, ph + 32))
                if type == 4 { headers.append(offset..<offset + size) }
                if type == 1 && flags & 1 != 0 {
                    exec = offset..<offset + size
                    virtToFile = (Self.u64(bytes, ph + 16), offset)
                }
            }
            let text = try #require(exec)
            let page = try #require(image.noteInteger(.hypercallPage))
            let (vaddr, fileOffset) = try #require(virtToFile)
            let pageOffset = Int(page - vaddr) + fileOffset
            hypercallPage = pageOffset..<pageOffset + 4096
            // The code is the larger part of .text beside the hypercall page (kernel.ld puts the page first).
            #expect(hypercallPage.lowerBound >= text.lowerBound && hypercallPage.upperBound <= text.upperBound)
            let before = text.lowerBound..<hypercallPage.lowerBound, after = hypercallPage.upperBound..<text.upperBound
            code = before.count > after.count ? before : after
        }

        static func u16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
        static func u32(_ b: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * $1) } }
        static func u64(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * $1) } }
    }

    /// Byte offsets of each Xen note's descriptor (notes named "Xen"), by type.
    static func noteDescriptors(_ bytes: [UInt8], in notes: Range<Int>) -> [UInt32: Range<Int>] {
        var result: [UInt32: Range<Int>] = [:]
        var at = notes.lowerBound
        while at + 12 <= notes.upperBound {
            let nameSize = Int(Regions.u32(bytes, at)), descSize = Int(Regions.u32(bytes, at + 4)), type = Regions.u32(bytes, at + 8)
            let desc = at + 12 + (nameSize + 3) & ~3
            if Array(bytes[at + 12..<at + 12 + nameSize]) == Array("Xen\0".utf8) { result[type] = desc..<desc + descSize }
            at = desc + (descSize + 3) & ~3
        }
        return result
    }

    static func put64(_ value: UInt64, _ bytes: inout [UInt8], at offset: Int) {
        for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    /// Outcome counts, for the log and for the checks that the variants did reach both paths.
    struct Tally: CustomStringConvertible {
        var refused = 0, shutdown = 0, crashed = 0, destroyed = 0
        /// Names of the variants `create` refused.
        var refusedNames: Set<String> = []
        var description: String { "refused \(refused), shut down \(shutdown), crashed \(crashed), destroyed \(destroyed)" }
    }

    /// Creates every variant (a few at a time), lets each run briefly, and returns what became of them.
    static func run(_ variants: [(name: String, bytes: [UInt8], cmdline: String)], on engine: Engine,
                    batch: Int = 6, grace: Double = 1.0) throws -> Tally {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xkv-fuzz-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var tally = Tally()
        for start in stride(from: 0, to: variants.count, by: batch) {
            var created: [(name: String, id: Int)] = []
            for variant in variants[start..<min(start + batch, variants.count)] {
                let path = dir.appendingPathComponent(variant.name).path
                #expect(FileManager.default.createFile(atPath: path, contents: Data(variant.bytes)))
                var config = pv64(variant.name, variant.cmdline)
                config.kernel = .file(path)
                do {
                    if let id = try engine.execute(.create(config)) { created.append((variant.name, id)) }
                } catch {
                    tally.refused += 1
                    tally.refusedNames.insert(variant.name)
                    #expect(!error.description.isEmpty)
                }
            }
            let ids = Set(created.map(\.id))
            _ = engine.waitUntil(timeout: grace) { snap in !snap.domains.contains { ids.contains($0.id) } }
            for domain in engine.snapshot().domains where ids.contains(domain.id) {
                try engine.execute(.destroy(String(domain.id)))
                tally.destroyed += 1
            }
            let snap = engine.snapshot()
            for (name, id) in created {
                guard let final = snap.ended.last(where: { $0.id == id }) else {
                    Issue.record("\(name) (\(id)) is neither live nor ended")
                    continue
                }
                #expect(!final.alive)
                if final.state.crashed { tally.crashed += 1 } else if final.state.shutdown { tally.shutdown += 1 }
                #expect(!(final.state.crashed && final.crashReason == nil), "\(name) crashed without a reason")
            }
        }
        #expect(engine.snapshot().domains.isEmpty, "every variant has ended")
        return tally
    }

    /// After the damage, a clean pv64 must still boot and count right on the same engine.
    static func expectHealthy(_ engine: Engine) throws {
        let n = UInt64.random(in: 10...200)
        let ended = try #require(try engine.runToEnd(pv64("after-fuzz", "hypercalls=\(n)")))
        let summary = try #require(GuestSummary(console: ended.console))
        #expect(summary.xenVersion == n + PV64Boot.xenVersionCalls)
        #expect(ended.snapshot.counters.totalHypercalls == summary.hypercalls)
    }

    static let cmdlines = ["echo=fuzz hypercalls=5", "badptr cpuid cr3 mmu", "traps fault", "echo=x traps cpuid mmu hypercalls=3"]

    @Test("random byte flips in the ELF header, program headers and Xen notes")
    func headerFlips() throws {
        let original = try GuestImage.builtin(named: "pv64").bytes
        let regions = try Regions(original)
        var variants: [(name: String, bytes: [UInt8], cmdline: String)] = []
        for seed in UInt64(1)...32 {
            var rng = SeededGenerator(seed: seed)
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let region = regions.headers.randomElement(using: &rng)!
                let offset = Int.random(in: region, using: &rng)
                bytes[offset] ^= UInt8.random(in: 1...255, using: &rng)
            }
            variants.append(("hdr-\(seed)", bytes, Self.cmdlines[Int(seed) % Self.cmdlines.count]))
        }
        let engine = try Engine()
        defer { engine.shutdownAll() }
        let tally = try Self.run(variants, on: engine)
        print("header flips: \(tally)")
        #expect(tally.refused > 0, "some header damage must be caught at create")
        try Self.expectHealthy(engine)
    }

    @Test("random byte flips in the kernel's code")
    func codeFlips() throws {
        let original = try GuestImage.builtin(named: "pv64").bytes
        let regions = try Regions(original)
        var variants: [(name: String, bytes: [UInt8], cmdline: String)] = []
        for seed in UInt64(1)...32 {
            var rng = SeededGenerator(seed: seed &* 7919)
            var bytes = original
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                bytes[Int.random(in: regions.code, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            }
            variants.append(("code-\(seed)", bytes, Self.cmdlines[Int(seed) % Self.cmdlines.count]))
        }
        let engine = try Engine()
        defer { engine.shutdownAll() }
        let tally = try Self.run(variants, on: engine)
        print("code flips: \(tally)")
        #expect(tally.refused == 0, "code damage leaves the headers valid")
        #expect(tally.crashed + tally.shutdown + tally.destroyed == variants.count)
        try Self.expectHealthy(engine)
    }

    @Test("hostile header values: addresses at the top of the address space, huge sizes and offsets")
    func hostileHeaders() throws {
        let original = try GuestImage.builtin(named: "pv64").bytes
        let regions = try Regions(original)
        let notes = Self.noteDescriptors(original, in: regions.headers[2])
        let virtBase = try #require(notes[XenNote.virtBase.rawValue]).lowerBound
        let entry = try #require(notes[XenNote.entry.rawValue]).lowerBound
        let paddrOffset = try #require(notes[XenNote.paddrOffset.rawValue]).lowerBound
        let hypercallPage = try #require(notes[XenNote.hypercallPage.rawValue]).lowerBound
        let phoff = Int(Regions.u64(original, 32))
        let textEntry = Regions.u64(original, 24)
        let pageVA = try #require(ELFImage(original).noteInteger(.hypercallPage))

        /// The kernel moved to `base`: VIRT_BASE, ENTRY and HYPERCALL_PAGE moved with it, so only
        /// the position is hostile.
        func moved(to base: UInt64) -> [UInt8] {
            var b = original
            Self.put64(base, &b, at: virtBase)
            Self.put64(base &+ (textEntry &- 0xffff_ffff_8000_0000), &b, at: entry)
            Self.put64(base &+ (pageVA &- 0xffff_ffff_8000_0000), &b, at: hypercallPage)
            return b
        }
        func edited(_ edit: (inout [UInt8]) -> Void) -> [UInt8] {
            var b = original
            edit(&b)
            return b
        }
        let ph0 = phoff, ph1 = phoff + 56
        // The kernel's extent from virt_base, page-rounded: "top-N" variants end it N bytes below 2^64,
        // so it loads, but the builder's P2M, start_info, tables and 4 MiB-rounded mapping after it
        // cannot fit (the 8 MiB one can).
        let extent = try ELFImage(original).segments.map { ($0.physicalAddress + $0.memorySize + 0xfff) & ~0xfff }.max() ?? 0
        func top(_ gap: UInt64) -> [UInt8] { moved(to: 0 &- extent &- gap) }
        let variants: [(name: String, bytes: [UInt8], cmdline: String)] = [
            ("top-4k", top(0x1000), "echo=top"),
            ("top-64k", top(0x1_0000), "echo=top"),
            ("top-1m", top(0x10_0000), "echo=top"),
            ("top-4m", top(0x40_0000), "echo=top"),
            ("top-8m", top(0x80_0000), "echo=top"),
            ("top-0", top(0), "echo=top"),
            ("top-page", moved(to: 0xffff_ffff_ffff_f000), "echo=top"),
            ("in-hole", moved(to: 0xffff_8000_0000_0000), "echo=hole"),
            ("in-xkv-pages", moved(to: 0xffff_8300_0000_0000), "echo=hole"),
            ("non-canonical", moved(to: 0x0000_8000_0000_0000), "echo=noncanonical"),
            ("below-canonical-top", moved(to: 0x0000_7fff_ffc0_0000), "echo=low"),
            ("at-zero", moved(to: 0), "echo=zero"),
            ("paddr-offset-above-base", edited { Self.put64(0xffff_ffff_ffff_0000, &$0, at: paddrOffset) }, ""),
            ("entry-max", edited { Self.put64(UInt64.max, &$0, at: entry) }, ""),
            ("hypercall-page-max", edited { Self.put64(UInt64.max &- 0xfff, &$0, at: hypercallPage) }, ""),
            ("hypercall-page-unaligned", edited { Self.put64(pageVA + 8, &$0, at: hypercallPage) }, ""),
            ("memsz-max", edited { Self.put64(UInt64.max, &$0, at: ph0 + 40) }, ""),
            ("memsz-huge", edited { Self.put64(1 << 40, &$0, at: ph0 + 40) }, ""),
            ("filesz-max", edited { Self.put64(UInt64.max, &$0, at: ph0 + 32) }, ""),
            ("offset-max", edited { Self.put64(UInt64.max, &$0, at: ph0 + 8) }, ""),
            ("paddr-max", edited { Self.put64(UInt64.max &- 0xfff, &$0, at: ph0 + 24) }, ""),
            ("paddr-overlap", edited { Self.put64(0, &$0, at: ph1 + 24) }, "echo=overlap"),
            ("phoff-max", edited { Self.put64(UInt64.max &- 8, &$0, at: 32) }, ""),
            ("phnum-max", edited { $0[56] = 0xff; $0[57] = 0xff }, ""),
            ("phentsize-small", edited { $0[54] = 8; $0[55] = 0 }, ""),
            ("truncated-headers", Array(original.prefix(100)), ""),
            ("truncated-code", Array(original.prefix(regions.code.lowerBound + 64)), ""),
            ("empty", [], ""),
        ]
        let engine = try Engine()
        defer { engine.shutdownAll() }
        let tally = try Self.run(variants, on: engine)
        print("hostile headers: \(tally)")
        // These cannot be laid out at all: only a refusal is right. The rest may build and then crash.
        let mustRefuse: Set = ["top-4k", "top-64k", "top-1m", "top-4m", "top-0", "top-page", "entry-max", "hypercall-page-max", "hypercall-page-unaligned",
                               "memsz-max", "memsz-huge", "filesz-max", "offset-max", "paddr-max", "phoff-max", "phnum-max",
                               "phentsize-small", "truncated-headers", "truncated-code", "empty"]
        #expect(mustRefuse.subtracting(tally.refusedNames).isEmpty, "built anyway: \(mustRefuse.subtracting(tally.refusedNames).sorted())")
        try Self.expectHealthy(engine)
    }
}
