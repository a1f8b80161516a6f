/// A key as the console understands it, whatever terminal it came from.
public enum Key: Equatable, Sendable {
    /// A printable character (space included).
    case char(Character)
    /// A control character other than those named below: Ctrl-A is 1, Ctrl-] is 0x1d.
    case control(UInt8)
    case enter, escape, tab, backTab, backspace, delete, insert
    case up, down, left, right, home, end, pageUp, pageDown
    case function(Int)
    /// The terminal changed size.
    case resize

    public static let detach = Key.control(0x1d)
    public static let interrupt = Key.control(0x03)

    /// A raw character code (not a function key) as a `Key`.
    public init(code: UInt32) {
        switch code {
        case 9: self = .tab
        case 10, 13: self = .enter
        case 27: self = .escape
        case 8, 127: self = .backspace
        case 0..<32: self = .control(UInt8(code))
        default:
            if let scalar = Unicode.Scalar(code), !(0x80..<0xa0).contains(code) {
                self = .char(Character(scalar))
            } else {
                self = .control(0)
            }
        }
    }

    /// The bytes a terminal would send for this key (what an attached guest console gets).
    public var bytes: [UInt8] {
        switch self {
        case .char(let c): return Array(String(c).utf8)
        case .control(let b): return [b]
        case .enter: return [13]
        case .escape: return [27]
        case .tab: return [9]
        case .backTab: return Array("\u{1b}[Z".utf8)
        case .backspace: return [127]
        case .delete: return Array("\u{1b}[3~".utf8)
        case .insert: return Array("\u{1b}[2~".utf8)
        case .up: return Array("\u{1b}[A".utf8)
        case .down: return Array("\u{1b}[B".utf8)
        case .right: return Array("\u{1b}[C".utf8)
        case .left: return Array("\u{1b}[D".utf8)
        case .home: return Array("\u{1b}[H".utf8)
        case .end: return Array("\u{1b}[F".utf8)
        case .pageUp: return Array("\u{1b}[5~".utf8)
        case .pageDown: return Array("\u{1b}[6~".utf8)
        case .function, .resize: return []
        }
    }
}
