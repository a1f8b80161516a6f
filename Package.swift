// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "xkv",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "xkv", targets: ["xkv"]),
    ],
    targets: [
        // C shim over <linux/kvm.h>: constants and non-variadic ioctl wrappers, plus the raw C baseline loop.
        .target(name: "CKVM"),
        // /dev/kvm in Swift: host capabilities, VMs, vCPUs, exits, checked guest memory.
        .target(name: "KVM", dependencies: ["CKVM"]),
        // The guest kernels xkv ships, built from C and assembly by the GuestKernelBuilder plugin.
        .target(name: "GuestImages", exclude: ["Kernels"], plugins: ["GuestKernelBuilder"]),
        .plugin(name: "GuestKernelBuilder", capability: .buildTool()),
        // The engine: domains, PV builder, hypercalls, trap bounce, counters, the command gate.
        .target(name: "Hypervisor", dependencies: ["KVM", "GuestImages"]),
        // The command language, scripts, configs, text and JSON output.
        .target(name: "Session", dependencies: ["Hypervisor"]),
        // C shim over ncursesw: attributes, colour pairs, ACS characters, KEY_* codes, wide-character drawing.
        .target(name: "CNcurses", linkerSettings: [.linkedLibrary("ncursesw")]),
        // The full-screen console: screen model, pure pane renderers, themes, keymap, ncurses backend.
        .target(name: "Console", dependencies: ["CNcurses", "Session", "Hypervisor"]),
        .executableTarget(name: "xkv", dependencies: ["Session", "Hypervisor", "KVM", "Console"]),

        .testTarget(name: "KVMTests", dependencies: ["KVM"]),
        .testTarget(name: "GuestImagesTests", dependencies: ["GuestImages"]),
        .testTarget(name: "HypervisorTests", dependencies: ["Hypervisor"]),
        .testTarget(name: "SessionTests", dependencies: ["Session"]),
        .testTarget(name: "ConsoleTests", dependencies: ["Console"], exclude: ["Expected"]),
    ],
    swiftLanguageModes: [.v6]
)
