import Foundation
import PackagePlugin

/// Builds every guest kernel under `<target>/Kernels/<name>/` (a folder with a `kernel.conf`)
/// with the toolchain's clang and ld.lld, and generates Swift sources embedding the ELF images.
@main
struct GuestKernelBuilder: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let kernelsDirectory = target.directoryURL.appending(path: "Kernels")
        let script = context.package.directoryURL.appending(path: "Plugins/GuestKernelBuilder/build-kernel.sh")
        let shell = URL(filePath: "/bin/sh")
        let clang = try toolchainTool("clang", context: context)
        let lld = try toolchainTool("ld.lld", context: context)
        let names = try kernelNames(in: kernelsDirectory)
        let output = context.pluginWorkDirectoryURL

        var commands: [Command] = names.map { name in
            let source = kernelsDirectory.appending(path: name)
            let generated = output.appending(path: "GuestKernel_\(name).swift")
            return .buildCommand(
                displayName: "Building guest kernel \(name)",
                executable: shell,
                arguments: [
                    script.path, "kernel", name, source.path, clang.path, lld.path,
                    generated.path, output.appending(path: name).path,
                ],
                // Kernels/common holds headers every kernel may include.
                inputFiles: [script] + files(under: source) + files(under: kernelsDirectory.appending(path: "common")),
                outputFiles: [generated]
            )
        }
        // The kernel list is in the arguments, so adding or removing a kernel reruns this.
        let index = output.appending(path: "GuestKernelIndex.swift")
        commands.append(
            .buildCommand(
                displayName: "Listing guest kernels",
                executable: shell,
                arguments: [script.path, "index", index.path] + names,
                inputFiles: [script],
                outputFiles: [index]
            ))
        return commands
    }

    /// The kernels' sources need the toolchain's own clang and lld (they cross-compile for a
    /// freestanding target, which a system compiler may not support): SwiftPM's tool lookup
    /// first, then the directory holding swiftc, then PATH.
    private func toolchainTool(_ name: String, context: PluginContext) throws -> URL {
        if let tool = try? context.tool(named: name) {
            return tool.url
        }
        var directories: [URL] = []
        if let swiftc = try? context.tool(named: "swiftc") {
            directories.append(swiftc.url.resolvingSymlinksInPath().deletingLastPathComponent())
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        directories += path.split(separator: ":").map { URL(filePath: String($0)) }
        for directory in directories {
            let candidate = directory.appending(path: name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) {
                return candidate
            }
        }
        throw GuestKernelBuilderError("cannot find '\(name)' in the Swift toolchain or PATH")
    }

    /// Sorted so the generated index, and with it the build, is the same on every machine.
    private func kernelNames(in directory: URL) throws -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let names = entries.filter {
            FileManager.default.fileExists(atPath: directory.appending(path: "\($0)/kernel.conf").path)
        }.sorted()
        for name in names where !Self.isIdentifier(name) {
            throw GuestKernelBuilderError("kernel folder '\(name)' must be a lowercase Swift identifier")
        }
        return names
    }

    private static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    private func files(under directory: URL) -> [URL] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory.path) else { return [] }
        return enumerator.compactMap { $0 as? String }.sorted().map { directory.appending(path: $0) }
            .filter { !isDirectory($0) }
    }
}

private func isDirectory(_ url: URL) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
}

struct GuestKernelBuilderError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
