import Hypervisor

/// The session record, format version 2 (`xkv run --record FILE`, `xkv replay FILE`).
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
///     {"type":"header","format":"xkv-record","version":2,"xkv_version":"...",
///      "build":{"configuration":"debug|release","executable_bytes":N,"executable_modified":T},
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
///                                         "asynchronous" on a create whose domain cannot
///                                         replay exactly, with why (it reads the TSC, has
///                                         several vCPUs, is HVM); a domain sent console input
///                                         is marked by its input events
///     {"seq":N,"type":"checkpoint","wall":W,"logical":L,"domain":"a","reason":"hypercall",
///      "vcpu":0,"memory":"<hex>","set":"0=ffffffff80001234 2=1a 18=7"}
///                                         reason hypercall|exit|shutdown|crash|end; vcpu absent
///                                         for end (counters only); memory (a digest of guest
///                                         RAM) at shutdown, crash and every 4096th hypercall;
///                                         set: the values (hex) that changed since the last
///                                         checkpoint with the same domain name and vcpu in this
///                                         record, by index into `Checkpoint.vcpuNames` (or
///                                         `counterNames` for end); values start at zero
///     {"seq":N,"type":"input","wall":W,"logical":L,"domain":"a","bytes":"<hex>"}
///                                         outside input to a guest (console keystrokes)
///     {"seq":N,"type":"failed","wall":W,"logical":0,"command":M,"error":"..."}
///                                         command record M (written when the gate took it)
///                                         failed; a replay expects it to fail again
///     {"seq":N,"type":"preempt","wall":W,"logical":L,"domain":"a","vcpu":0}
///                                         the scheduler's timer took the vCPU off its pCPU
///                                         (exact domains do not depend on it; kept as evidence)
///     {"seq":N,"type":"image","wall":W,"logical":L,"name":"pv32","sha256":"..."}
///     {"seq":N,"type":"frame","wall":W,"logical":L,"columns":C,"rows":R,"full":true,
///      "lines":[[y,"text","roles"],...],"cursor":[x,y]|null,"digest":"<hex>"}
///                                         the console's screen (console recordings only): the
///                                         rows that changed, all rows when "full" (the first
///                                         frame, a resize); digest of the whole screen after it
///                                         (`RecordedFrame`); logical is the gate's sequence
///
/// Readers ignore keys they do not know, so later writers of the same version may add keys; anything that
/// changes the meaning of a key gets a new version, and readers refuse versions they do not know.
public enum RecordFormat {
    public static let name = "xkv-record"
    public static let version = 2
    /// The xkv build that writes records (reported in the header, not checked on replay).
    public static let xkvVersion = "0.1.0-dev"
    /// How this xkv was compiled (reported in the header).
    #if DEBUG
    public static let buildConfiguration = "debug"
    #else
    public static let buildConfiguration = "release"
    #endif

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

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib's `crc32`, eight bytes a
/// step ("slicing by 8"): the recorder frames a line at every hypercall.
public enum CRC32 {
    /// Eight 256-entry tables, one after another; never freed.
    nonisolated(unsafe) private static let tables: UnsafePointer<UInt32> = {   // written once, then only read
        let t = UnsafeMutablePointer<UInt32>.allocate(capacity: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
            t[n] = c
        }
        for n in 0..<256 {
            for k in 1..<8 { t[k * 256 + n] = (t[(k - 1) * 256 + n] >> 8) ^ t[Int(t[(k - 1) * 256 + n] & 0xff)] }
        }
        return UnsafePointer(t)
    }()

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress else { return 0 }
        let t = tables
        var crc: UInt32 = 0xffff_ffff
        var p = base, left = bytes.count
        while left >= 8 {
            let lo = p.loadUnaligned(as: UInt32.self).littleEndian ^ crc
            let hi = (p + 4).loadUnaligned(as: UInt32.self).littleEndian
            crc = t[7 * 256 + Int(lo & 0xff)] ^ t[6 * 256 + Int((lo >> 8) & 0xff)]
                ^ t[5 * 256 + Int((lo >> 16) & 0xff)] ^ t[4 * 256 + Int(lo >> 24)]
                ^ t[3 * 256 + Int(hi & 0xff)] ^ t[2 * 256 + Int((hi >> 8) & 0xff)]
                ^ t[1 * 256 + Int((hi >> 16) & 0xff)] ^ t[Int(hi >> 24)]
            p += 8
            left -= 8
        }
        while left > 0 {
            crc = t[Int((crc ^ UInt32(p.load(as: UInt8.self))) & 0xff)] ^ (crc >> 8)
            p += 1
            left -= 1
        }
        return crc ^ 0xffff_ffff
    }

    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        if let fast = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0)) }) { return fast }
        return Array(bytes).withUnsafeBytes { checksum($0) }
    }
}

extension Checkpoint.Reason {
    /// The reason as a JSON string.
    var quoted: String { "\"" + rawValue + "\"" }
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

    /// A UInt64 as a JSON string of lowercase hex digits.
    mutating func hex(_ v: UInt64) {
        openString()
        appendHex(v)
        closeString()
    }

    /// A string whose bytes the caller appends (they must need no escaping).
    mutating func openString() { comma(); bytes.append(0x22) }
    mutating func closeString() { bytes.append(0x22); needsComma = true }

    /// Goes on with an object whose earlier members were written elsewhere.
    mutating func continueObject() { needsComma = true }

    mutating func appendHex(_ v: UInt64) {
        if v == 0 { bytes.append(0x30); return }
        var shift = (63 - v.leadingZeroBitCount) / 4 * 4
        while shift >= 0 {
            let digit = UInt8((v >> UInt64(shift)) & 0xf)
            bytes.append(digit < 10 ? 0x30 + digit : 0x57 + digit)
            shift -= 4
        }
    }

    mutating func null() { comma(); bytes.append(contentsOf: Array("null".utf8)); needsComma = true }

    /// An already rendered JSON value.
    mutating func raw(_ json: String) { comma(); bytes.append(contentsOf: json.utf8); needsComma = true }

    mutating func appendDecimal(_ v: UInt64) {
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
