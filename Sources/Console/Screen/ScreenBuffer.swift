/// One character cell: a single-column Unicode scalar and the role that styles it.
public struct Cell: Equatable, Sendable {
    public var scalar: Unicode.Scalar
    public var role: StyleRole

    public init(_ scalar: Unicode.Scalar = " ", _ role: StyleRole = .normal) {
        self.scalar = scalar
        self.role = role
    }

    public static let blank = Cell()
}

/// A rectangle of the screen, in cells.
public struct Rect: Equatable, Sendable {
    public var x: Int, y: Int, width: Int, height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    public var isEmpty: Bool { width <= 0 || height <= 0 }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }

    /// The rectangle less `n` cells on every side.
    public func inset(_ n: Int) -> Rect { Rect(x: x + n, y: y + n, width: width - 2 * n, height: height - 2 * n) }

    /// Splits off the top `rows` rows: (top, rest).
    public func splitTop(_ rows: Int) -> (Rect, Rect) {
        let r = min(max(0, rows), height)
        return (Rect(x: x, y: y, width: width, height: r), Rect(x: x, y: y + r, width: width, height: height - r))
    }

    /// Splits off the left `columns` columns: (left, rest).
    public func splitLeft(_ columns: Int) -> (Rect, Rect) {
        let c = min(max(0, columns), width)
        return (Rect(x: x, y: y, width: c, height: height), Rect(x: x + c, y: y, width: width - c, height: height))
    }
}

/// What a frame looks like: the whole screen as cells, plus where the cursor goes. Renderers
/// write here; the terminal backend only copies it out. Every write is clipped, so no
/// coordinate a renderer computes can fall outside the buffer.
public struct ScreenBuffer: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]
    /// Where the terminal's cursor is shown (command line editing), or nil for hidden.
    public var cursor: (x: Int, y: Int)?

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public static func == (a: ScreenBuffer, b: ScreenBuffer) -> Bool {
        a.width == b.width && a.height == b.height && a.cells == b.cells && a.cursor?.x == b.cursor?.x && a.cursor?.y == b.cursor?.y
    }

    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    public subscript(x: Int, y: Int) -> Cell {
        get { x >= 0 && y >= 0 && x < width && y < height ? cells[y * width + x] : .blank }
        set { if x >= 0 && y >= 0 && x < width && y < height { cells[y * width + x] = newValue } }
    }

    /// Writes `text` from (x, y) in `role`, clipped to `clip` (default: the whole buffer) and
    /// to `maxWidth` cells. Characters that do not take exactly one column are made safe first
    /// (`TextCells`). Returns the number of cells written.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, role: StyleRole = .normal, maxWidth: Int? = nil, clip: Rect? = nil) -> Int {
        let area = clip ?? bounds
        guard y >= area.y, y < area.maxY, y >= 0, y < height else { return 0 }
        let limit = min(area.maxX, width, maxWidth.map { x + max(0, $0) } ?? Int.max)
        var column = x
        let row = y * width, left = max(area.x, 0)
        TextCells.forEachCell(text) { scalar in
            if column >= limit { return false }
            if column >= left { cells[row + column] = Cell(scalar, role) }
            column += 1
            return true
        }
        return max(0, column - x)
    }

    /// Fills `rect` with `scalar` in `role`.
    public mutating func fill(_ rect: Rect, _ scalar: Unicode.Scalar = " ", role: StyleRole = .normal) {
        let x0 = max(0, rect.x), x1 = min(width, rect.maxX)
        let y0 = max(0, rect.y), y1 = min(height, rect.maxY)
        guard x0 < x1 else { return }
        for y in y0..<max(y0, y1) {
            for x in x0..<x1 { cells[y * width + x] = Cell(scalar, role) }
        }
    }

    /// Changes the role of the cells in `rect`, keeping their characters (a selected row).
    public mutating func restyle(_ rect: Rect, role: StyleRole) {
        let x0 = max(0, rect.x), x1 = min(width, rect.maxX)
        let y0 = max(0, rect.y), y1 = min(height, rect.maxY)
        guard x0 < x1 else { return }
        for y in y0..<max(y0, y1) {
            for x in x0..<x1 { cells[y * width + x].role = role }
        }
    }

    /// A box with single lines around `rect`, and `title` in its top edge.
    public mutating func box(_ rect: Rect, title: String? = nil, role: StyleRole = .border, titleRole: StyleRole = .title) {
        guard rect.width >= 2, rect.height >= 2 else { return }
        let right = rect.maxX - 1, bottom = rect.maxY - 1
        for x in rect.x + 1..<right {
            self[x, rect.y] = Cell(Glyph.horizontal, role)
            self[x, bottom] = Cell(Glyph.horizontal, role)
        }
        for y in rect.y + 1..<bottom {
            self[rect.x, y] = Cell(Glyph.vertical, role)
            self[right, y] = Cell(Glyph.vertical, role)
        }
        self[rect.x, rect.y] = Cell(Glyph.topLeft, role)
        self[right, rect.y] = Cell(Glyph.topRight, role)
        self[rect.x, bottom] = Cell(Glyph.bottomLeft, role)
        self[right, bottom] = Cell(Glyph.bottomRight, role)
        if let title, rect.width > 6 {
            put(" " + title + " ", x: rect.x + 2, y: rect.y, role: titleRole, maxWidth: rect.width - 4)
        }
    }

    /// The screen as text, one line per row, trailing blanks removed: what a test compares.
    public var text: String {
        var lines: [String] = []
        lines.reserveCapacity(height)
        for y in 0..<height {
            var line = String.UnicodeScalarView()
            for x in 0..<width { line.append(cells[y * width + x].scalar) }
            var s = String(line)
            while s.last == " " { s.removeLast() }
            lines.append(s)
        }
        return lines.joined(separator: "\n")
    }

    /// Row `y` as text (no trimming).
    public func row(_ y: Int) -> String {
        guard y >= 0 && y < height else { return "" }
        var line = String.UnicodeScalarView()
        for x in 0..<width { line.append(cells[y * width + x].scalar) }
        return String(line)
    }

    /// Where `needle` first appears, scanning rows top down.
    public func find(_ needle: String) -> (x: Int, y: Int)? {
        for y in 0..<height {
            let scalars = Array(row(y).unicodeScalars), target = Array(needle.unicodeScalars)
            guard !target.isEmpty, scalars.count >= target.count else { continue }
            for x in 0...(scalars.count - target.count) where Array(scalars[x..<x + target.count]) == target { return (x, y) }
        }
        return nil
    }
}
