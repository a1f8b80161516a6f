import Dispatch
import Foundation
import Synchronization

/// Turns SIGINT, SIGTERM and SIGHUP into a flag the app loop polls, so the console leaves
/// through its normal exit path (terminal restored, domains destroyed) whatever stops it.
/// The signals are ignored at the process level and observed through dispatch sources, so no
/// handler runs async-signal-unsafe code.
public final class SignalWatcher {
    private final class Flag: Sendable {
        let signal = Atomic<Int32>(0)
    }
    private let flag = Flag()
    private var sources: [DispatchSourceSignal] = []
    public static let watched: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    public init() {
        for sig in Self.watched {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            let flag = self.flag
            source.setEventHandler {
                _ = flag.signal.compareExchange(expected: 0, desired: sig, ordering: .relaxed)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The first signal received, if any.
    public var caught: Int32? {
        let s = flag.signal.load(ordering: .relaxed)
        return s == 0 ? nil : s
    }

    /// Stops watching and restores the default actions.
    public func cancel() {
        for s in sources { s.cancel() }
        sources = []
        for sig in Self.watched { signal(sig, SIG_DFL) }
    }
}
