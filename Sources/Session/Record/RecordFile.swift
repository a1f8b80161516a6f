import Foundation

/// A session record read back and verified (see `RecordFormat`): every line's checksum first,
/// then the header's format and version.
public struct RecordFile: Sendable {
    public var path: String
    public var header: JSON
    /// Events in order; `events[i]` is record `i + 1`.
    public var events: [JSON]
    /// Set when the file ends in a partial or damaged last record: the whole records it kept.
    public var truncatedAfter: Int?
    /// Set when the file ends in the zero bytes a recorder allocates ahead (`RecordWriter`):
    /// xkv stopped without closing the record.
    public var unclosed = false

    /// Reads and verifies `path`. A bad checksum before the last line is corruption ("FILE:
    /// record N: checksum mismatch"); a partial or bad last line is a truncation.
    public static func load(path: String) throws(RecordError) -> RecordFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw RecordError("\(path): cannot read the record") }
        return try parse([UInt8](data), path: path)
    }

    public static func parse(_ bytes: [UInt8], path: String) throws(RecordError) -> RecordFile {
        var end = bytes.count
        while end > 0 && bytes[end - 1] == 0 { end -= 1 }
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        for i in 0..<end where bytes[i] == 0x0a {
            lines.append(bytes[start..<i])
            start = i + 1
        }
        let partialTail = start < end
        var records: [JSON] = []
        var truncated = partialTail
        for (n, line) in lines.enumerated() {
            guard let json = verified(line) else {
                if n == lines.count - 1 && !partialTail { truncated = true; break }
                throw RecordError("\(path): record \(n): checksum mismatch")
            }
            do { records.append(try JSONParser.parse(json)) } catch {
                throw RecordError("\(path): record \(n): not a JSON object (\(error.message))")
            }
        }
        guard let header = records.first else {
            throw RecordError("\(path): no whole header record: not a session record, or empty")
        }
        guard header["type"]?.stringValue == "header", header["format"]?.stringValue == RecordFormat.name else {
            throw RecordError("\(path): not an xkv session record (its first record is not an \(RecordFormat.name) header)")
        }
        let version = header["version"]?.intValue ?? -1
        guard version == Int64(RecordFormat.version) else {
            throw RecordError("\(path): record format version \(version) is not supported by this xkv (it reads version \(RecordFormat.version)); replay it with the xkv that wrote it (\(header["xkv_version"]?.stringValue ?? "unknown"))")
        }
        let events = Array(records.dropFirst())
        for (index, event) in events.enumerated() where event["seq"]?.intValue != Int64(index + 1) {
            throw RecordError("\(path): record \(index + 1): out of sequence (seq \(event["seq"]?.intValue.map(String.init) ?? "missing"))")
        }
        let unclosed = end < bytes.count
        return RecordFile(path: path, header: header, events: events, truncatedAfter: truncated || unclosed ? events.count : nil,
                          unclosed: unclosed && !truncated)
    }

    /// The JSON bytes of a framed line whose checksum matches, else nil.
    static func verified(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        guard line.count > 9, let tab = line.lastIndex(of: 0x09), line.endIndex - tab == 9 else { return nil }
        guard let stored = UInt32(String(decoding: line[(tab + 1)...], as: UTF8.self), radix: 16) else { return nil }
        let json = line[line.startIndex..<tab]
        return CRC32.checksum(json) == stored ? json : nil
    }

    /// The note a truncated record gets.
    public var truncationNote: String? {
        guard let n = truncatedAfter else { return nil }
        if unclosed { return "the recording did not end cleanly (xkv stopped while recording) after record \(n); replaying the \(n) whole records" }
        return "record truncated after record \(n); replaying the \(n) whole records"
    }
}
