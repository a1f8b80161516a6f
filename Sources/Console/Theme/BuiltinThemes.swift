/// The shipped themes, built in so the console looks right without its `themes/` folder
/// (an installed binary, another working directory). `themes/*.theme` are the sources;
/// ThemeTests checks these copies match them word for word.
enum BuiltinThemes {
    static let names = ["dark", "light", "high-contrast", "monochrome"]

    static func text(_ name: String) -> String? {
        switch name {
        case "dark": return dark
        case "light": return light
        case "high-contrast": return highContrast
        case "monochrome": return monochrome
        default: return nil
        }
    }

    static let dark = """
    # dark: xkv's default theme, for terminals with a dark background.
    #
    # One line per role:   role = foreground background [attribute ...]
    #   colours:    default (the terminal's own), black red green yellow blue magenta cyan white,
    #               bright-NAME, or a number 0-255 (on 8-colour terminals bright-NAME is NAME + bold)
    #   attributes: bold dim underline reverse standout italic
    # Roles a theme leaves out look like `normal`. `monochrome = yes` draws attributes only.

    normal             = default        default
    dim                = bright-black   default
    border             = blue           default
    border-focused     = bright-cyan    default   bold
    title              = cyan           default
    title-focused      = bright-white   blue      bold
    header             = bright-white   default   bold
    header-sorted      = bright-yellow  default   bold underline
    selected           = black          cyan
    selected-unfocused = default        default   reverse
    running            = bright-green   default
    blocked            = default        default
    paused             = yellow         default   bold
    crashed            = bright-red     default   bold
    shutdown           = bright-black   default
    hit                = black          bright-yellow bold
    sparkline          = bright-cyan    default
    accent             = bright-magenta default
    warning            = yellow         default
    error              = bright-red     default   bold
    ok                 = green          default
    status-bar         = white          blue
    status-error       = bright-white   red       bold
    command-line       = bright-white   default
    hint               = white          default
    hint-key           = bright-yellow  default   bold
    tab                = white          default
    tab-focused        = black          cyan      bold
    overlay            = bright-white   black
    overlay-title      = black          bright-cyan bold
    """

    static let light = """
    # light: for terminals with a light background (dark text, muted accents).
    # Format: see dark.theme.

    normal             = default        default
    dim                = 8              default
    border             = blue           default
    border-focused     = blue           default   bold
    title              = blue           default
    title-focused      = white          blue      bold
    header             = black          default   bold
    header-sorted      = magenta        default   bold underline
    selected           = white          blue
    selected-unfocused = default        default   reverse
    running            = green          default   bold
    blocked            = default        default
    paused             = yellow         default   bold
    crashed            = red            default   bold
    shutdown           = 8              default
    hit                = black          yellow    bold
    sparkline          = blue           default
    accent             = magenta        default
    warning            = yellow         default   bold
    error              = red            default   bold
    ok                 = green          default
    status-bar         = white          blue
    status-error       = white          red       bold
    command-line       = black          default
    hint               = 8              default
    hint-key           = blue           default   bold
    tab                = black          default
    tab-focused        = white          blue      bold
    overlay            = black          white
    overlay-title      = white          blue      bold
    """

    static let highContrast = """
    # high-contrast: black background, white and bright yellow text, reverse video for selection.
    # Format: see dark.theme.

    normal             = bright-white   black
    dim                = white          black
    border             = bright-white   black
    border-focused     = bright-yellow  black     bold
    title              = bright-white   black     bold
    title-focused      = black          bright-yellow bold
    header             = bright-yellow  black     bold underline
    header-sorted      = black          bright-yellow bold
    selected           = black          bright-white bold
    selected-unfocused = bright-white   black     reverse
    running            = bright-green   black     bold
    blocked            = bright-white   black
    paused             = bright-yellow  black     bold
    crashed            = bright-white   red       bold
    shutdown           = white          black
    hit                = black          bright-yellow bold
    sparkline          = bright-cyan    black     bold
    accent             = bright-cyan    black     bold
    warning            = bright-yellow  black     bold
    error              = bright-white   red       bold
    ok                 = bright-green   black     bold
    status-bar         = black          bright-white
    status-error       = bright-white   red       bold
    command-line       = bright-white   black     bold
    hint               = bright-white   black
    hint-key           = bright-yellow  black     bold
    tab                = bright-white   black
    tab-focused        = black          bright-yellow bold
    overlay            = bright-white   black
    overlay-title      = black          bright-white bold
    """

    static let monochrome = """
    # monochrome: attributes only, for NO_COLOR and terminals without colour.
    # Format: see dark.theme.

    monochrome         = yes
    normal             = default        default
    dim                = default        default   dim
    border             = default        default
    border-focused     = default        default   bold
    title              = default        default
    title-focused      = default        default   reverse bold
    header             = default        default   bold
    header-sorted      = default        default   bold underline
    selected           = default        default   reverse
    selected-unfocused = default        default   underline
    running            = default        default   bold
    blocked            = default        default
    paused             = default        default   underline
    crashed            = default        default   bold standout
    shutdown           = default        default   dim
    hit                = default        default   reverse bold
    sparkline          = default        default
    accent             = default        default   bold
    warning            = default        default   bold
    error              = default        default   bold standout
    ok                 = default        default
    status-bar         = default        default   reverse
    status-error       = default        default   reverse bold
    command-line       = default        default   bold
    hint               = default        default
    hint-key           = default        default   bold
    tab                = default        default
    tab-focused        = default        default   reverse bold
    overlay            = default        default
    overlay-title      = default        default   reverse bold
    """
}
