import Synchronization

/// What a domain printed: its PV console ring (drained by Domain-0, as xenconsoled does) and its
/// console_io writes, kept up to a bound (oldest bytes dropped first).
public final class ConsoleLog: Sendable {
    public static let capacity = 1 << 20
    private struct Contents { var bytes: [UInt8] = []; var dropped = 0 }
    private let contents = Mutex(Contents())

    public init() {}

    public func append(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        contents.withLock {
            $0.bytes.append(contentsOf: bytes)
            let excess = $0.bytes.count - ConsoleLog.capacity
            if excess > 0 {
                $0.bytes.removeFirst(excess)
                $0.dropped += excess
            }
        }
    }

    /// Everything kept, as text (invalid UTF-8 replaced).
    public var text: String { contents.withLock { String(decoding: $0.bytes, as: UTF8.self) } }

    public var byteCount: Int { contents.withLock { $0.bytes.count + $0.dropped } }
}
