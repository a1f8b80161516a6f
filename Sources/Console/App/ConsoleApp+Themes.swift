import Foundation

/// Themes in the running console: the one asked for, the fallback when a theme file is bad,
/// and monochrome when colours are off.
extension ConsoleApp {
    func setUpTheme(_ terminal: Terminal) {
        if let v = options.environment["NO_COLOR"], !v.isEmpty {
            monochromeReason = "NO_COLOR is set"
        } else if !terminal.hasColour {
            monochromeReason = "this terminal has no colours"
        }
        if let reason = monochromeReason {
            view.themeName = ThemeLoader.monochromeName
            terminal.apply(ThemeLoader.monochrome)
            view.log("theme monochrome: \(reason)", wallTime: Date().timeIntervalSince1970)
            if let asked = options.theme, asked != ThemeLoader.monochromeName {
                view.status = StatusMessage("theme \(asked) not used: \(reason), so the console is monochrome", kind: .info, time: Self.monotonic())
            }
            return
        }
        terminal.apply(ThemeLoader.fallback)
        view.themeName = ThemeLoader.defaultName
        if let name = options.theme { applyTheme(name, terminal) }
    }

    func applyTheme(_ name: String, _ terminal: Terminal) {
        let now = Self.monotonic()
        if let reason = monochromeReason, name != ThemeLoader.monochromeName {
            fail("theme \(name) not used: \(reason), so the console stays monochrome", now: now)
            return
        }
        do {
            let theme = try themes.load(name)
            terminal.apply(theme)
            view.themeName = theme.name
            view.status = StatusMessage("theme \(theme.name)", kind: .ok, time: now)
        } catch {
            terminal.apply(ThemeLoader.fallback)
            view.themeName = ThemeLoader.defaultName
            fail("\(error.description); using the default theme \(ThemeLoader.defaultName)", now: now)
        }
    }

}
