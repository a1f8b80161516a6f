/// What the app needs from a terminal: start, size, draw a buffer, read a key, stop. The ncurses
/// backend is the real one; nothing above this protocol knows ncurses exists.
public protocol Terminal: AnyObject {
    var size: (width: Int, height: Int) { get }
    /// Whether colours can be shown (false: monochrome).
    var hasColour: Bool { get }
    func apply(_ theme: Theme)
    /// Draws what differs from the last drawn buffer and updates the screen.
    func draw(_ buffer: ScreenBuffer)
    /// Forgets what is on the screen, so the next draw repaints everything.
    func invalidate()
    /// The next key, waiting at most `timeoutMilliseconds`; nil on timeout.
    func readKey(timeoutMilliseconds: Int) -> Key?
    /// Puts the terminal back as it was. Safe to call more than once.
    func stop()
}
