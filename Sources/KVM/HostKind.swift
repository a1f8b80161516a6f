import Glibc

/// The kind of KVM underneath xkv. Guests see Xen's behaviour on every kind; the differences are
/// made up for in one place (`Hypervisor/Platform/PVMCompensation.swift`).
public enum HostKind: String, Sendable, Codable {
    /// Intel VT-x: hardware virtualization, guest ring 0 runs natively.
    case vmx = "hardware VT-x"
    /// AMD-V: hardware virtualization, guest ring 0 runs natively.
    case svm = "hardware AMD-V"
    /// PVM, a software virtualizer: only 64-bit CPL 3 code runs natively; ring 0/1 and 32-bit
    /// code are emulated, `syscall` lands at LSTAR still at CPL 3, `int $N` at CPL 3 raises #UD.
    case pvm = "software PVM"
    /// Something else (nested, unknown module): treated like hardware.
    case unknown = "unknown"

    /// True when guest ring 0 runs natively, so HVM domains are possible.
    public var hasHardwareVirtualization: Bool { self == .vmx || self == .svm }

    /// Short machine-readable name (`vmx`, `svm`, `pvm`, `unknown`) for JSON and benchmark rows.
    public var shortName: String {
        switch self {
        case .vmx: return "vmx"
        case .svm: return "svm"
        case .pvm: return "pvm"
        case .unknown: return "unknown"
        }
    }

    /// Detects the kind of this host from the loaded KVM modules and the CPU flags.
    public static func detect() -> HostKind {
        if access("/sys/module/kvm_pvm", F_OK) == 0 { return .pvm }
        let flags = cpuFlags()
        if flags.contains("vmx") { return .vmx }
        if flags.contains("svm") { return .svm }
        return .unknown
    }

    /// The host CPU's model name from /proc/cpuinfo.
    public static func cpuModel() -> String {
        for line in readFile("/proc/cpuinfo").split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: " \t")
            }
        }
        return "unknown CPU"
    }

    static func cpuFlags() -> Set<String> {
        for line in readFile("/proc/cpuinfo").split(separator: "\n") where line.hasPrefix("flags") {
            return Set(line.split(separator: " ").map(String.init))
        }
        return []
    }
}

/// Reads a small text file (procfs, sysfs) whole; empty when it cannot be read.
func readFile(_ path: String) -> String {
    guard let file = fopen(path, "r") else { return "" }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n <= 0 { break }
        bytes.append(contentsOf: buffer[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let first = s.first, set.contains(first) { s = s.dropFirst() }
        while let last = s.last, set.contains(last) { s = s.dropLast() }
        return String(s)
    }
}
