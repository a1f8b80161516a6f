import Dispatch
import Foundation
import Synchronization

/// Runs commands off the UI thread, one at a time in the order given (a `wait` or a slow
/// destroy must not freeze the screen), and hands their outcomes back to the loop.
final class CommandRunner: Sendable {
    enum Outcome: Sendable {
        /// A command finished: its label and what it printed.
        case output(label: String, text: String)
        case failure(label: String, message: String)
        /// A line for the event log (startup notes, script progress), stamped when it happened.
        case log(String, error: Bool, wallTime: Double)
    }

    private let queue = DispatchQueue(label: "xkv.console.commands")
    private let inbox = Mutex<[Outcome]>([])
    private let running = Mutex<[String]>([])

    /// Runs `work` after everything submitted before it; `work` reports through `post`.
    func submit(_ label: String, _ work: @escaping @Sendable (_ post: @Sendable (Outcome) -> Void) -> Void) {
        running.withLock { $0.append(label) }
        queue.async { [self] in
            work { outcome in self.inbox.withLock { $0.append(outcome) } }
            running.withLock { if !$0.isEmpty { $0.removeFirst() } }
        }
    }

    /// The outcomes since the last call.
    func drain() -> [Outcome] {
        inbox.withLock { all in
            defer { all = [] }
            return all
        }
    }

    static func log(_ message: String, error: Bool = false) -> Outcome {
        .log(message, error: error, wallTime: Date().timeIntervalSince1970)
    }

    /// What runs now (the oldest unfinished submission), if anything.
    var current: String? { running.withLock { $0.first } }
}
