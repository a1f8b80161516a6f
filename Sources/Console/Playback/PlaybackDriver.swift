import Foundation
import Session
import Synchronization

/// Plays a record back in the console (`xkv replay FILE`): applies the steps of a paced
/// `ReplaySession` on its own thread when the playback clock reaches their recorded time,
/// which runs at the chosen speed while not paused. Applying a step can wait for a domain to
/// get somewhere, so it never runs on the UI thread.
///
/// Seeks go forward: a replay re-executes the guests, and there is no going back in a run
/// (replaying from the start is `xkv replay FILE` again).
public final class PlaybackDriver: @unchecked Sendable {
    public let session: ReplaySession
    private let name: String

    private struct Control {
        var paused = false
        var speed = 1.0
        /// Recorded seconds played.
        var clock = 0.0
        var stepRequests = 0
        /// A seek: apply every step before the target at once, hold its domain there, pause.
        var seek: ReplaySession.SeekTarget?
        /// The record number the last seek went to (`]` goes on from there).
        var lastSeek = 0
        var stop = false
        var report: ReplayReport?
    }
    private let control = Mutex(Control())
    private let signal = NSCondition()
    /// Bumped (under `signal`) by every `poke`, so a poke between deciding to wait and waiting
    /// is not lost.
    private var pokes = 0
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)

    public init(session: ReplaySession, paused: Bool = false, speed: Double = 1) {
        self.session = session
        name = (session.file.path as NSString).lastPathComponent
        control.withLock { $0.paused = paused; $0.speed = speed }
    }

    /// Starts the playback thread.
    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "xkv.playback"
        self.thread = thread
        thread.start()
    }

    /// Stops the playback (where it is) and waits for its thread; the verdict, if it got to
    /// the end.
    @discardableResult
    public func stop() -> ReplayReport? {
        control.withLock { $0.stop = true }
        session.cancel()
        poke()
        if thread != nil { done.wait() }
        thread = nil
        return control.withLock { $0.report }
    }

    /// The verdict, once the whole record has been played.
    public var report: ReplayReport? { control.withLock { $0.report } }

    /// What the console shows.
    public var status: PlaybackStatus {
        let p = session.progress
        return control.withLock { c in
            PlaybackStatus(record: name, paused: c.paused, speed: c.speed, position: min(c.clock, session.duration), duration: session.duration,
                           applied: p.applied, steps: p.steps, seq: p.seq, equal: p.equal, divergence: p.divergence?.description,
                           seeking: c.seek?.seq, verdict: c.report?.verdict)
        }
    }

    /// Carries out a playback key; a message for the status line.
    public func perform(_ action: PlaybackAction) -> (message: String, error: Bool) {
        defer { poke() }
        return control.withLock { c -> (String, Bool) in
            if c.report != nil { return ("the playback is over: \(c.report!.succeeded ? "every checkpoint matched" : "it diverged")", false) }
            switch action {
            case .togglePause:
                c.paused.toggle()
                return (c.paused ? "playback paused (domains stop at the checkpoint they may reach)" : "playback \(speedText(c.speed))", false)
            case .step:
                c.paused = true
                c.stepRequests += 1
                return ("step", false)
            case .faster, .slower:
                c.speed = min(PlaybackStatus.speeds.upperBound, max(PlaybackStatus.speeds.lowerBound, action == .faster ? c.speed * 2 : c.speed / 2))
                return ("playback speed \(speedText(c.speed))", false)
            case .nextCheckpoint, .seek:
                var from = max(c.lastSeek, session.progress.seq) + 1
                if case .seek(let record) = action { from = record }
                guard let target = session.checkpoint(atOrAfter: from) else {
                    return ("no checkpoint of an exact domain at or after record \(from)", true)
                }
                guard target.stepsBefore >= session.nextIndex else {
                    return ("seek goes forward only: the playback is past record \(target.seq) (a replay re-runs the guests; `xkv replay` again starts over)", true)
                }
                c.seek = target
                return ("seeking to record \(target.seq): \(target.domain) at logical time \(target.logicalTime)", false)
            }
        }
    }

    private func speedText(_ speed: Double) -> String { PlaybackStatus(record: "", speed: speed).speedText }

    private func poke() {
        signal.lock()
        pokes += 1
        signal.broadcast()
        signal.unlock()
    }

    private func run() {
        defer { done.signal() }
        var last = Self.monotonic()
        while true {
            signal.lock()
            let seen = pokes
            signal.unlock()
            enum Next { case apply, hold(ReplaySession.SeekTarget), wait(Double), finish, stop }
            let next = control.withLock { c -> Next in
                let now = Self.monotonic()
                if !c.paused && c.seek == nil { c.clock += (now - last) * c.speed }
                last = now
                if c.stop { return .stop }
                guard let wall = session.nextWall else { return c.seek.map { .hold($0) } ?? .finish }
                if let target = c.seek {
                    if session.nextIndex < target.stepsBefore {
                        c.clock = max(c.clock, wall)
                        return .apply
                    }
                    c.seek = nil
                    c.lastSeek = target.seq
                    c.paused = true
                    return .hold(target)
                }
                if c.stepRequests > 0 {
                    c.stepRequests -= 1
                    c.clock = max(c.clock, wall)
                    return .apply
                }
                if !c.paused && c.clock >= wall { return .apply }
                return .wait(c.paused ? 0.25 : min(0.25, max(0.001, (wall - c.clock) / c.speed)))
            }
            switch next {
            case .stop:
                return
            case .apply:
                session.applyNext()
            case .hold(let target):
                control.withLock { c in c.seek = nil; c.lastSeek = target.seq; c.paused = true }
                session.hold(target.domain, at: target.logicalTime)
            case .wait(let seconds):
                signal.lock()
                if pokes == seen { _ = signal.wait(until: Date().addingTimeInterval(seconds)) }
                signal.unlock()
            case .finish:
                let report = session.finish()
                control.withLock { $0.report = report; $0.clock = session.duration }
                return
            }
        }
    }

    static func monotonic() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
