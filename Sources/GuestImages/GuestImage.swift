/// A guest kernel image: the ELF bytes a domain builder loads, with a name and a one-line summary.
///
/// The built-in images are the kernels in `Sources/GuestImages/Kernels/`, compiled from C and
/// assembly by the `GuestKernelBuilder` plugin during `swift build`. Operators name them
/// `builtin:<name>`, for example `builtin:pv64`.
public struct GuestImage: Sendable {
    /// The image's name; for built-in images, without the `builtin:` prefix.
    public let name: String
    /// The ELF file, byte for byte.
    public let bytes: [UInt8]
    /// What the kernel is and does, in one line.
    public let summary: String

    /// Wraps image bytes from elsewhere (a kernel file, a test) in the same type as the built-ins.
    public init(name: String, bytes: [UInt8], summary: String) {
        self.name = name
        self.bytes = bytes
        self.summary = summary
    }
}

/// Why a guest image could not be provided.
public enum GuestImageError: Error, CustomStringConvertible {
    /// No built-in image has this name; `available` lists those that exist (without prefix).
    case unknown(name: String, available: [String])

    public var description: String {
        switch self {
        case .unknown(let name, let available):
            let names = available.map { "builtin:\($0)" }.joined(separator: ", ")
            return "unknown guest image 'builtin:\(name)'; available: \(names)"
        }
    }
}

extension GuestImage {
    /// Names of the built-in images, sorted, without the `builtin:` prefix (for example `["pv64"]`).
    public static var builtinNames: [String] {
        // Folders named xkv_* hold xkv's own ring-0 code, not guests.
        EmbeddedKernel.all.map(\.name).filter { !$0.hasPrefix("xkv_") }
    }

    /// The built-in image called `name` (without the `builtin:` prefix).
    ///
    /// - Throws: ``GuestImageError/unknown(name:available:)`` listing the images that exist.
    public static func builtin(named name: String) throws(GuestImageError) -> GuestImage {
        guard !name.hasPrefix("xkv_"), let image = builtins.first(where: { $0.name == name }) else {
            throw .unknown(name: name, available: builtinNames)
        }
        return image
    }

    /// xkv's own ring-0 code built from `Kernels/xkv_NAME` (not a guest; loaded into the hole).
    public static func hypervisorCode(named name: String) -> GuestImage? {
        builtins.first { $0.name == "xkv_" + name }
    }

    /// SHA-256 of ``bytes`` as 64 lowercase hex digits: names exactly which kernel a recording ran.
    public var sha256Hex: String {
        SHA256.digest(bytes).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 0x10 ? "0" + hex : hex
        }.joined()
    }

    /// Decoded once, on first use.
    private static let builtins: [GuestImage] = EmbeddedKernel.all.map {
        GuestImage(name: $0.name, bytes: Base64.decode($0.elfBase64), summary: $0.summary)
    }
}

/// One kernel as the plugin embeds it (see `Plugins/GuestKernelBuilder/build-kernel.sh`).
/// Base64 in a string literal compiles far faster than an array literal of the same bytes.
struct EmbeddedKernel: Sendable {
    let name: String
    let summary: String
    let elfBase64: String
}
