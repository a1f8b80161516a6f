import Session

/// Turns the screens the console draws into the record's frames (`RecordedFrame`): only rows
/// that changed since the last recorded frame, all of them after a resize; nothing when the
/// screen did not change (the console redraws four times a second whether or not it did).
struct ScreenRecording {
    private var texts: [String] = []
    private var roles: [String] = []
    private var columns = 0
    private var cursor: (x: Int, y: Int)?
    /// Frames written so far.
    private(set) var frames = 0

    /// The frame that takes the last recorded screen to `buffer`, or nil if nothing changed.
    mutating func frame(for buffer: ScreenBuffer) -> RecordedFrame? {
        let full = buffer.width != columns || buffer.height != texts.count
        var newTexts: [String] = []
        var newRoles: [String] = []
        newTexts.reserveCapacity(buffer.height)
        newRoles.reserveCapacity(buffer.height)
        var changed: [RecordedFrame.Row] = []
        for y in 0..<buffer.height {
            let text = buffer.row(y)
            var role = String.UnicodeScalarView()
            for x in 0..<buffer.width { role.append(Self.code(buffer[x, y].role)) }
            let roleText = String(role)
            if full || text != texts[y] || roleText != roles[y] { changed.append(.init(index: y, text: text, roles: roleText)) }
            newTexts.append(text)
            newRoles.append(roleText)
        }
        let cursorMoved = buffer.cursor?.x != cursor?.x || buffer.cursor?.y != cursor?.y
        guard full || !changed.isEmpty || cursorMoved else { return nil }
        texts = newTexts
        roles = newRoles
        columns = buffer.width
        cursor = buffer.cursor
        frames += 1
        return RecordedFrame(columns: buffer.width, rows: buffer.height, full: full, changed: changed, cursor: buffer.cursor,
                             digest: RecordedFrame.digest(texts: texts, roles: roles))
    }

    /// A role as one character: `a` + its number.
    static func code(_ role: StyleRole) -> Unicode.Scalar { Unicode.Scalar(0x61 + role.rawValue) }

    /// The role a character stands for (`normal` for anything unknown).
    static func role(_ code: Unicode.Scalar) -> StyleRole {
        code.value >= 0x61 ? StyleRole(rawValue: UInt8(truncatingIfNeeded: code.value - 0x61)) ?? .normal : .normal
    }
}
