/// What the console shows of a playback (`xkv replay FILE`): where it is in the record, how
/// fast it goes, and how the replayed checkpoints compare so far.
public struct PlaybackStatus: Equatable, Sendable {
    public var record: String
    public var paused: Bool
    /// ×0.25 to ×16.
    public var speed: Double
    /// Recorded seconds played, of `duration`.
    public var position: Double
    public var duration: Double
    /// Steps applied, of `steps`, and the record number of the last one.
    public var applied: Int
    public var steps: Int
    public var seq: Int
    /// Checkpoints replayed so far that match the record.
    public var equal: Int
    /// The first divergence, as a sentence.
    public var divergence: String?
    /// A seek in progress: the record number it goes to.
    public var seeking: Int?
    /// The verdict, once the whole record has been replayed.
    public var verdict: String?

    public init(record: String, paused: Bool = false, speed: Double = 1, position: Double = 0, duration: Double = 0, applied: Int = 0,
                steps: Int = 0, seq: Int = 0, equal: Int = 0, divergence: String? = nil, seeking: Int? = nil, verdict: String? = nil) {
        self.record = record
        self.paused = paused
        self.speed = speed
        self.position = position
        self.duration = duration
        self.applied = applied
        self.steps = steps
        self.seq = seq
        self.equal = equal
        self.divergence = divergence
        self.seeking = seeking
        self.verdict = verdict
    }

    public static let speeds: ClosedRange<Double> = 0.25...16

    /// `×1`, `×0.25`, `×16`.
    public var speedText: String {
        speed == speed.rounded() ? "×\(Int(speed))" : "×\(speed)"
    }

    /// The header's playback segment.
    public var headline: String {
        let state = verdict != nil ? "■ done" : seeking.map { "» seek \($0)" } ?? (paused ? "❚❚ paused" : "▶ \(speedText)")
        return "PLAYBACK \(state) · \(Format.fixed(position, 1))/\(Format.fixed(duration, 1)) s · step \(applied)/\(steps) · "
            + (divergence != nil ? "DIVERGED" : "\(equal) checkpoints equal")
    }
}

/// What a playback key asks of the driver.
public enum PlaybackAction: Equatable, Sendable {
    case togglePause
    /// Apply the next step of the record, then stay paused.
    case step
    case faster, slower
    /// Run ahead to the next checkpoint of an exact domain (held there, paused).
    case nextCheckpoint
    /// Run ahead to the first checkpoint at or after a record number.
    case seek(record: Int)
}
