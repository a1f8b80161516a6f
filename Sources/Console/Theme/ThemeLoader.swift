import Foundation

/// Finds and reads themes: `NAME` is looked up as `NAME.theme` in the theme folders, a path
/// (with `/` or ending in `.theme`) is read as it is. The shipped themes are also built in.
public struct ThemeLoader: Sendable {
    public static let defaultName = "dark"
    public static let monochromeName = "monochrome"

    /// Folders searched in order.
    public var directories: [String]

    public init(directories: [String]) { self.directories = directories }

    /// `$XKV_THEMES`, `./themes`, the folder beside the executable and its `../share/xkv`, and
    /// the package's own `themes/` (for `swift run` from anywhere).
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> ThemeLoader {
        var dirs: [String] = []
        if let env = environment["XKV_THEMES"], !env.isEmpty { dirs.append(env) }
        dirs.append(FileManager.default.currentDirectoryPath + "/themes")
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        dirs.append(exe.appendingPathComponent("themes").path)
        dirs.append(exe.appendingPathComponent("../share/xkv/themes").standardized.path)
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../themes").standardized.path
        dirs.append(package)
        var seen = Set<String>()
        return ThemeLoader(directories: dirs.filter { seen.insert($0).inserted })
    }

    /// The theme's file, if one exists.
    public func path(for name: String) -> String? {
        if name.contains("/") || name.hasSuffix(".theme") { return name }
        for dir in directories {
            let candidate = dir + "/" + name + ".theme"
            if FileManager.default.isReadableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Names of the themes there are: built in, and `*.theme` in the folders.
    public var available: [String] {
        var names = Set(BuiltinThemes.names)
        for dir in directories {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            for f in files where f.hasSuffix(".theme") { names.insert(String(f.dropLast(6))) }
        }
        return names.sorted()
    }

    /// Reads and parses the theme `name`.
    public func load(_ name: String) throws(ThemeError) -> Theme {
        let display = name.contains("/") ? (name as NSString).lastPathComponent : name
        let themeName = display.hasSuffix(".theme") ? String(display.dropLast(6)) : display
        guard !name.isEmpty else { throw ThemeError(file: "theme", line: 0, message: "which theme? (\(available.joined(separator: ", ")))") }
        if let file = path(for: name) {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ThemeError(file: file, line: 0, message: "cannot read the theme file")
            }
            return try ThemeParser.parse(String(decoding: data, as: UTF8.self), name: themeName, file: file)
        }
        if let text = BuiltinThemes.text(name) {
            return try ThemeParser.parse(text, name: name, file: "builtin:\(name).theme")
        }
        throw ThemeError(file: name + ".theme", line: 0, message: "no such theme (themes: \(available.joined(separator: ", ")))")
    }

    /// The built-in default, which always parses (ThemeTests holds it to that).
    public static var fallback: Theme {
        (try? ThemeParser.parse(BuiltinThemes.dark, name: defaultName, file: "builtin:dark.theme"))
            ?? Theme(name: defaultName, styles: [.normal: Style()])
    }

    public static var monochrome: Theme {
        (try? ThemeParser.parse(BuiltinThemes.monochrome, name: monochromeName, file: "builtin:monochrome.theme"))
            ?? Theme(name: monochromeName, styles: [.normal: Style()], monochrome: true)
    }
}
