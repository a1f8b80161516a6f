/// One frame of the console's screen as a record keeps it (`RecordFormat`, `frame` events):
/// the rows that changed since the previous frame, each as its text and its style roles.
///
/// The console builds these (it knows screens and roles); the recorder writes them, and
/// `xkv export --asciicast` reads them back. Roles are one character a cell: `a` + the role's
/// number (`StyleRole.rawValue`), so a row's roles are exactly as long as its text in cells.
public struct RecordedFrame: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        public var index: Int
        public var text: String
        public var roles: String

        public init(index: Int, text: String, roles: String) {
            self.index = index
            self.text = text
            self.roles = roles
        }
    }

    public var columns: Int
    public var rows: Int
    /// Every row (the first frame, and after a resize) or only those that changed.
    public var full: Bool
    public var changed: [Row]
    /// Where the cursor is shown, or nil when hidden.
    public var cursor: (x: Int, y: Int)?
    /// `RecordedFrame.digest(of:)` of the whole screen after this frame.
    public var digest: UInt64

    public init(columns: Int, rows: Int, full: Bool, changed: [Row], cursor: (x: Int, y: Int)?, digest: UInt64) {
        self.columns = columns
        self.rows = rows
        self.full = full
        self.changed = changed
        self.cursor = cursor
        self.digest = digest
    }

    public static func == (a: RecordedFrame, b: RecordedFrame) -> Bool {
        a.columns == b.columns && a.rows == b.rows && a.full == b.full && a.changed == b.changed
            && a.cursor?.x == b.cursor?.x && a.cursor?.y == b.cursor?.y && a.digest == b.digest
    }

    /// A 64-bit FNV-1a digest of a whole screen: each row's text and roles, in order.
    public static func digest(texts: [String], roles: [String]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for (text, role) in zip(texts, roles) {
            for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            hash = (hash ^ 0x0a) &* 0x0000_0100_0000_01b3
            for byte in role.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            hash = (hash ^ 0x0a) &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}

/// A whole screen rebuilt from a record's frame events, one event at a time.
public struct ReplayedScreen: Sendable {
    public private(set) var columns = 0
    public private(set) var rows = 0
    public private(set) var texts: [String] = []
    public private(set) var roles: [String] = []
    public private(set) var cursor: (x: Int, y: Int)?

    public init() {}

    /// Applies a frame event; returns the rows it changed (all of them after a resize).
    /// Throws when the event is malformed or the rebuilt screen does not match its digest.
    public mutating func apply(_ event: JSON, seq: Int) throws(RecordError) -> [Int] {
        guard let columns = event["columns"]?.intValue, let rows = event["rows"]?.intValue, columns > 0, rows > 0,
              columns <= 4096, rows <= 4096 else { throw RecordError("record \(seq): frame without a usable size") }
        let full = event["full"]?.boolValue ?? false
        if full || Int(columns) != self.columns || Int(rows) != self.rows {
            guard full else { throw RecordError("record \(seq): the screen changed size in a frame that is not full") }
            self.columns = Int(columns)
            self.rows = Int(rows)
            texts = Array(repeating: "", count: self.rows)
            roles = Array(repeating: "", count: self.rows)
        }
        var touched: [Int] = []
        for line in event["lines"]?.arrayValue ?? [] {
            guard let parts = line.arrayValue, parts.count == 3, let y = parts[0].intValue, y >= 0, y < rows,
                  let text = parts[1].stringValue, let role = parts[2].stringValue else {
                throw RecordError("record \(seq): bad frame row")
            }
            texts[Int(y)] = text
            roles[Int(y)] = role
            touched.append(Int(y))
        }
        if let c = event["cursor"]?.arrayValue, c.count == 2, let x = c[0].intValue, let y = c[1].intValue,
           x >= 0, y >= 0, x < columns, y < rows {
            cursor = (Int(x), Int(y))
        } else {
            cursor = nil
        }
        guard let digestText = event["digest"]?.stringValue, let digest = UInt64(digestText, radix: 16) else {
            throw RecordError("record \(seq): frame without a digest")
        }
        let mine = RecordedFrame.digest(texts: texts, roles: roles)
        guard mine == digest else {
            throw RecordError("record \(seq): the screen rebuilt from the frames does not match the recorded digest (recorded \(digestText), rebuilt \(String(mine, radix: 16)))")
        }
        return full ? Array(0..<self.rows) : touched
    }
}
