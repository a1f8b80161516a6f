/// What kind of guest a domain runs (xl.cfg `type`).
public enum DomainType: String, Sendable, Codable, CaseIterable {
    /// Paravirtualized: the kernel is deprivileged and talks to the hypervisor through hypercalls.
    case pv
    /// PVH: refused for now (no PVH builder yet).
    case pvh
    /// Hardware virtualized: the kernel owns ring 0 of its VM. Needs VT-x/AMD-V.
    case hvm
}

/// What the engine does when a domain stops (xl.cfg `on_poweroff`, `on_reboot`, `on_crash`).
public enum LifecycleAction: String, Sendable, Codable, CaseIterable {
    /// Tear the domain down and free its memory.
    case destroy
    /// Build the domain again from its configuration.
    case restart
    /// Keep the stopped domain (its memory and state) for inspection, until `destroy`.
    case preserve
}

/// Where a domain's kernel comes from.
public enum KernelSource: Sendable, Equatable, CustomStringConvertible {
    /// One of the guest kernels xkv ships (`builtin:pv64`).
    case builtin(String)
    /// An ELF file on the host.
    case file(String)

    /// Parses the xl.cfg `kernel` value: `builtin:NAME` or a path.
    public init(_ text: String) {
        if text.hasPrefix("builtin:") {
            self = .builtin(String(text.dropFirst("builtin:".count)))
        } else {
            self = .file(text)
        }
    }

    public var description: String {
        switch self {
        case .builtin(let name): return "builtin:\(name)"
        case .file(let path): return path
        }
    }
}

/// A validated domain configuration: the engine's view of an xl.cfg file.
public struct DomainConfig: Sendable, Equatable {
    /// Unique domain name (xl.cfg `name`, required).
    public var name: String
    public var type: DomainType = .pv
    /// Guest memory in MiB (xl.cfg `memory`, default 32).
    public var memoryMiB: Int = 32
    /// Number of virtual CPUs (xl.cfg `vcpus`, default 1).
    public var vcpus: Int = 1
    public var kernel: KernelSource = .builtin("pv64")
    /// The kernel command line (xl.cfg `cmdline`, also `extra`).
    public var cmdline: String = ""
    /// A fixed UUID (xl.cfg `uuid`); nil draws a random one.
    public var uuid: UUIDValue?
    public var onPoweroff: LifecycleAction = .destroy
    public var onReboot: LifecycleAction = .restart
    public var onCrash: LifecycleAction = .destroy

    public init(name: String) { self.name = name }

    /// Largest memory a domain may ask for, in MiB.
    public static let maximumMemoryMiB = 64 * 1024
    /// Largest vCPU count a domain may ask for.
    public static let maximumVCPUs = 64
}

/// A 128-bit UUID in its canonical text form `8-4-4-4-12`.
public struct UUIDValue: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// A random version-4 UUID.
    public static func random() -> UUIDValue {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0f) | 0x40
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        return UUIDValue(unchecked: bytes)
    }

    private init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex digits, either case); nil if malformed.
    public init?(_ text: String) {
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        guard groups.map(\.count) == [8, 4, 4, 4, 12] else { return nil }
        let hex = Array(groups.joined())
        var bytes: [UInt8] = []
        var index = 0
        while index < hex.count {
            guard let byte = UInt8(String(hex[index...index + 1]), radix: 16) else { return nil }
            bytes.append(byte)
            index += 2
        }
        self.bytes = bytes
    }

    public var description: String {
        let hex = bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
        let h = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(h[$0]) }.joined(separator: "-")
    }
}

extension String {
    /// Pads with `pad` on the left up to `width` characters.
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
