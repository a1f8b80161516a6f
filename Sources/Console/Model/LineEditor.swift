/// The `:` command line: text, a cursor, and a history of what was run.
public struct LineEditor: Equatable, Sendable {
    public private(set) var text: [Character] = []
    public private(set) var cursor = 0
    public private(set) var history: [String] = []
    private var historyIndex: Int?
    public static let maxLength = 4096
    public static let maxHistory = 200

    public init() {}

    public var line: String { String(text) }

    public mutating func insert(_ c: Character) {
        guard text.count < Self.maxLength else { return }
        text.insert(c, at: cursor)
        cursor += 1
    }

    public mutating func backspace() {
        guard cursor > 0 else { return }
        text.remove(at: cursor - 1)
        cursor -= 1
    }

    public mutating func delete() {
        guard cursor < text.count else { return }
        text.remove(at: cursor)
    }

    public mutating func left() { cursor = max(0, cursor - 1) }
    public mutating func right() { cursor = min(text.count, cursor + 1) }
    public mutating func home() { cursor = 0 }
    public mutating func end() { cursor = text.count }
    public mutating func clear() { text = []; cursor = 0; historyIndex = nil }

    public mutating func previous() {
        guard !history.isEmpty else { return }
        let i = max(0, (historyIndex ?? history.count) - 1)
        historyIndex = i
        set(history[i])
    }

    public mutating func next() {
        guard let i = historyIndex else { return }
        if i + 1 < history.count {
            historyIndex = i + 1
            set(history[i + 1])
        } else {
            historyIndex = nil
            set("")
        }
    }

    /// Ends editing: returns the line and remembers it.
    public mutating func commit() -> String {
        let l = line
        if l.contains(where: { !$0.isWhitespace }), history.last != l {
            history.append(l)
            if history.count > Self.maxHistory { history.removeFirst(history.count - Self.maxHistory) }
        }
        clear()
        return l
    }

    private mutating func set(_ s: String) {
        text = Array(s)
        cursor = text.count
    }
}
