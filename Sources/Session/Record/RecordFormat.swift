import Hypervisor

/// The session record, format version 1 (`xkv run --record FILE`, `xkv replay FILE`).
///
/// A record is a text file of lines, one record per line:
///
///     <compact JSON object>\t<CRC-32 of the JSON's bytes, 8 lowercase hex digits>\n
///
/// Each line reaches the file with one write(2) and no buffering in xkv, so a crash loses at
/// most the record being written; a reader takes a last line with no newline (or a bad checksum
/// on the very last line) as a truncation and replays the whole records before it. A bad
/// checksum anywhere else is corruption, and the record is refused.
///
/// Record 0 is the header:
///
///     {"type":"header","format":"xkv-record","version":1,"xkv_version":"...",
///      "host":{"kind":"...","cpu":"..."},"pcpus":N,"terminal":null | {"columns":C,"rows":R},
///      "script":"path or null","images":{"pv64":"<sha256>",...},"configs":{"path":"<sha256>"},
///      "seeds":{}}
///
/// `images` holds every built-in guest image the session uses (known before the first domain
/// starts); an image first used later gets an `image` event. `seeds` is for engine-wide random
/// seeds (none yet); a domain's random UUID, the one thing a guest can read that xkv draws at
/// random, travels with its `create` command.
///
/// Records 1, 2, ... are events; record N has `"seq":N`. Every event has `wall` (Unix seconds,
/// microsecond precision) and `logical` (the logical time it belongs to: the domain's count of
/// guest-caused exits for a checkpoint, the gate's stamp for a command):
///
///     {"seq":N,"type":"command","wall":W,"logical":L,"text":"create name=a ...","source":"script",
///      "domain":"a","uuid":"..."}        text as the script had it; source script|console|hotkey;
///                                         domain for commands that touch one; uuid for create;
///                                         "error" for a query that failed when recorded
///     {"seq":N,"type":"checkpoint","wall":W,"logical":L,"domain":"a","reason":"hypercall",
///      "fields":[["vcpu","0"],["rip","..."],...],"digest":"..."}
///                                         reason hypercall|shutdown|crash|end; fields in the
///                                         engine's fixed order (see `Checkpoint`)
///     {"seq":N,"type":"input","wall":W,"logical":L,"domain":"a","bytes":"<hex>"}
///                                         outside input to a guest (console keystrokes)
///     {"seq":N,"type":"image","wall":W,"logical":L,"name":"pv32","sha256":"..."}
///
/// Readers ignore keys they do not know, so later version-1 writers may add keys; anything that
/// changes the meaning of a key gets a new version, and readers refuse versions they do not know.
public enum RecordFormat {
    public static let name = "xkv-record"
    public static let version = 1
    /// The xkv build that writes records (reported in the header, not checked on replay).
    public static let xkvVersion = "0.1.0-dev"

    /// One framed line for `json` (the JSON's bytes, a tab, the CRC-32 in hex, a newline).
    static func frame(_ json: [UInt8]) -> [UInt8] {
        var line = json
        frameInPlace(&line)
        return line
    }

    /// Appends the tab, checksum and newline to a buffer holding exactly the JSON.
    static func frameInPlace(_ json: inout [UInt8]) {
        let crc = CRC32.checksum(json)
        json.reserveCapacity(json.count + 10)
        json.append(0x09)
        appendHex32(crc, to: &json)
        json.append(0x0a)
    }

    static func appendHex32(_ value: UInt32, to bytes: inout [UInt8]) {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        for shift in stride(from: 28, through: 0, by: -4) { bytes.append(digits[Int((value >> UInt32(shift)) & 0xf)]) }
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib's `crc32`.
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        let fast = bytes.withContiguousStorageIfAvailable { buffer in
            table.withUnsafeBufferPointer { t in
                var crc: UInt32 = 0xffff_ffff
                for byte in buffer { crc = t[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
                return crc ^ 0xffff_ffff
            }
        }
        if let fast { return fast }
        return checksum(Array(bytes))
    }
}

/// `Checkpoint.digest` (64-bit FNV-1a over `name=value\n` of every field), computed without
/// building intermediate arrays: the recorder computes it at every hypercall.
enum CheckpointDigest {
    static func of(_ fields: [Checkpoint.Field]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func mix(_ byte: UInt8) { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        for field in fields {
            var name = field.name, value = field.value
            name.withUTF8 { for byte in $0 { mix(byte) } }
            mix(0x3d)
            value.withUTF8 { for byte in $0 { mix(byte) } }
            mix(0x0a)
        }
        return String(hash, radix: 16)
    }
}

/// Builds compact JSON straight into bytes: the recorder runs on vCPU threads at every
/// hypercall, so it avoids building an intermediate value.
struct JSONBytes {
    var bytes: [UInt8] = []
    private var needsComma = false

    init(capacity: Int = 512) { bytes.reserveCapacity(capacity) }

    mutating func open() { comma(); bytes.append(0x7b); needsComma = false }
    mutating func close() { bytes.append(0x7d); needsComma = true }
    mutating func openArray() { comma(); bytes.append(0x5b); needsComma = false }
    mutating func closeArray() { bytes.append(0x5d); needsComma = true }

    mutating func key(_ k: StaticString) {
        comma()
        bytes.append(0x22)
        k.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [0x22, 0x3a])
        needsComma = false
    }

    mutating func key(_ k: String) {
        string(k)
        bytes.append(0x3a)
        needsComma = false
    }

    mutating func string(_ s: String) {
        comma()
        bytes.append(0x22)
        // Checkpoint names and values (hex) need no escaping: copy them whole.
        let copied = s.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
            for byte in utf8 where byte < 0x20 || byte == 0x22 || byte == 0x5c { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if copied == true {
            bytes.append(0x22)
            needsComma = true
            return
        }
        for byte in s.utf8 {
            switch byte {
            case 0x22: bytes.append(contentsOf: [0x5c, 0x22])
            case 0x5c: bytes.append(contentsOf: [0x5c, 0x5c])
            case 0x0a: bytes.append(contentsOf: [0x5c, 0x6e])
            case 0x0d: bytes.append(contentsOf: [0x5c, 0x72])
            case 0x09: bytes.append(contentsOf: [0x5c, 0x74])
            case 0..<0x20:
                bytes.append(contentsOf: Array("\\u00".utf8))
                let digits: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(digits[Int(byte >> 4)])
                bytes.append(digits[Int(byte & 0xf)])
            default: bytes.append(byte)
            }
        }
        bytes.append(0x22)
        needsComma = true
    }

    mutating func uint(_ v: UInt64) {
        comma()
        appendDecimal(v)
        needsComma = true
    }

    mutating func int(_ v: Int) {
        if v < 0 { comma(); bytes.append(0x2d); appendDecimal(UInt64(-v)); needsComma = true } else { uint(UInt64(v)) }
    }

    /// Microseconds since the epoch as seconds with six decimals.
    mutating func seconds(microseconds us: UInt64) {
        comma()
        appendDecimal(us / 1_000_000)
        bytes.append(0x2e)
        let fraction = us % 1_000_000
        var divisor: UInt64 = 100_000
        while divisor > 0 { bytes.append(0x30 + UInt8((fraction / divisor) % 10)); divisor /= 10 }
        needsComma = true
    }

    mutating func null() { comma(); bytes.append(contentsOf: Array("null".utf8)); needsComma = true }

    /// An already rendered JSON value.
    mutating func raw(_ json: String) { comma(); bytes.append(contentsOf: json.utf8); needsComma = true }

    private mutating func appendDecimal(_ v: UInt64) {
        if v == 0 { bytes.append(0x30); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = v, count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while n > 0 { d[count] = 0x30 + UInt8(n % 10); n /= 10; count += 1 }
            for i in stride(from: count - 1, through: 0, by: -1) { bytes.append(d[i]) }
        }
    }

    private mutating func comma() { if needsComma { bytes.append(0x2c) } }
}
