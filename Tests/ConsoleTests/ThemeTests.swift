import Foundation
import Testing
@testable import Console

@Suite("Themes")
struct ThemeTests {
    static let themesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../themes").standardized.path

    @Test("every shipped theme parses and sets every role", arguments: ["dark", "light", "high-contrast", "monochrome"])
    func shipped(_ name: String) throws {
        let theme = try ThemeLoader(directories: [Self.themesDirectory]).load(name)
        #expect(theme.name == name)
        for role in StyleRole.allCases { #expect(theme.styles[role] != nil, "\(name) does not set \(role.name)") }
        #expect(theme.monochrome == (name == "monochrome"))
        if theme.monochrome {
            #expect(theme.styles.values.allSatisfy { $0.foreground == .terminalDefault && $0.background == .terminalDefault })
        }
    }

    @Test("the built-in copies are the theme files word for word", arguments: ["dark", "light", "high-contrast", "monochrome"])
    func builtinsMatchFiles(_ name: String) throws {
        let file = try String(contentsOfFile: Self.themesDirectory + "/\(name).theme", encoding: .utf8)
        #expect(BuiltinThemes.text(name) == file.trimmingCharacters(in: .newlines),
                "Sources/Console/Theme/BuiltinThemes.swift is out of date with themes/\(name).theme")
    }

    @Test("the fallback and monochrome themes are the built-in ones")
    func fallbacks() {
        #expect(ThemeLoader.fallback.name == "dark" && ThemeLoader.fallback.styles.count == StyleRole.allCases.count)
        #expect(ThemeLoader.monochrome.monochrome)
    }

    @Test("errors name the file and the line", arguments: [
        ("normal = default default\nbordr = blue default\n", 2, "unknown role 'bordr'; did you mean 'border'?"),
        ("# c\n\nnormal = default default\nborder = blu default\n", 4, "unknown colour 'blu'"),
        ("normal = default default\ntitle = red\n", 2, "needs a foreground and a background"),
        ("normal = default default\ntitle = red default blink\n", 2, "unknown attribute 'blink'"),
        ("normal = default default\ntitle = red default\ntitle = blue default\n", 3, "already set on line 2"),
        ("normal = default default\njust words\n", 2, "expected 'role = foreground background"),
        ("normal = default 256\n", 1, "unknown colour '256'"),
        ("monochrome = maybe\nnormal = default default\n", 1, "monochrome takes yes or no"),
        ("= red default\n", 1, "missing role name"),
    ])
    func errors(text: String, line: Int, message: String) {
        do {
            _ = try ThemeParser.parse(text, name: "bad", file: "themes/bad.theme")
            Issue.record("parsed")
        } catch {
            #expect(error.file == "themes/bad.theme" && error.line == line)
            #expect(error.description.hasPrefix("themes/bad.theme:\(line): "))
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test("a theme without 'normal' is refused")
    func noNormal() {
        #expect(throws: ThemeError.self) { try ThemeParser.parse("title = red default\n", name: "x", file: "x.theme") }
    }

    @Test("a bad theme file on disk is reported with its path and line; an unknown name lists the themes")
    func loader() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xkv-theme-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("broken.theme").path
        try "# broken\nnormal = default default\nselected = purple default\n".write(toFile: path, atomically: true, encoding: .utf8)
        let loader = ThemeLoader(directories: [dir.path])
        #expect(throws: ThemeError(file: path, line: 3, message: ThemeParser.badColour("purple"))) { try loader.load("broken") }
        #expect(throws: ThemeError(file: path, line: 3, message: ThemeParser.badColour("purple"))) { try loader.load(path) }
        do {
            _ = try loader.load("nosuch")
            Issue.record("loaded")
        } catch {
            #expect(error.description.contains("nosuch.theme") && error.description.contains("broken") && error.description.contains("dark"))
        }
        #expect(loader.available.contains("broken") && loader.available.contains("light"))
    }

    @Test("role names are the theme file's names")
    func roleNames() {
        #expect(StyleRole.borderFocused.name == "border-focused")
        #expect(StyleRole.named("status-error") == .statusError)
        #expect(StyleRole.named("statusError") == nil)
    }
}
