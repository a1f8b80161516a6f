/// SMBIOS tables for HVM domains, as Xen's hvmloader writes them (`smbios.c`): type 0 vendor
/// "Xen", type 1 manufacturer "Xen", product "HVM domU", the Xen version and the domain UUID as
/// serial, type 3 manufacturer "Xen". Inside the guest `dmidecode -s system-manufacturer` says
/// `Xen`. SMBIOS 2.4 with a 32-bit "_SM_" entry point in the BIOS area.
public enum SMBIOS {
    /// Where the entry point goes (the 0xF0000 BIOS area guests scan) and the table after it.
    public static let entryPointAddress: UInt64 = 0xF_0000
    public static let tableAddress: UInt64 = 0xF_0040

    /// The entry point and the structure table for a domain.
    public static func tables(uuid: UUIDValue, version: String = XenIdentity.versionString) -> (entry: [UInt8], table: [UInt8]) {
        var table: [UInt8] = []
        var largest = 0
        var count = 0
        func structure(_ type: UInt8, _ handle: UInt16, _ formatted: [UInt8], _ strings: [String]) {
            var s: [UInt8] = [type, UInt8(4 + formatted.count), UInt8(handle & 0xff), UInt8(handle >> 8)] + formatted
            if strings.isEmpty {
                s += [0, 0]
            } else {
                for string in strings { s += Array(string.utf8) + [0] }
                s.append(0)
            }
            largest = max(largest, s.count)
            count += 1
            table += s
        }
        let versionParts = version.split(separator: ".").compactMap { UInt8($0.prefix { $0.isNumber }) }
        // Type 0, BIOS information: vendor, version, start segment, release date, ROM size, characteristics.
        structure(0, 0x0000, [1, 2, 0x00, 0xe8, 3, 0] + [0x08] + [UInt8](repeating: 0, count: 7) // characteristics: bit 3, not supported
                  + [0, 0] + [versionParts.first ?? 4, versionParts.dropFirst().first ?? 19],
                  ["Xen", version, "11/26/2026"])
        // Type 1, system information: manufacturer, product, version, serial, UUID, wake-up type, SKU, family.
        structure(1, 0x0100, [1, 2, 3, 4] + uuid.smbiosBytes + [6, 0, 0],
                  ["Xen", "HVM domU", version, uuid.description])
        // Type 3, chassis: manufacturer, type (other), version, serial, asset tag, states, security.
        structure(3, 0x0300, [1, 1, 0, 0, 0, 3, 3, 3, 2], ["Xen"])
        // Type 127, end of table.
        structure(127, 0x7f00, [], [])

        var entry = [UInt8](repeating: 0, count: 0x1f)
        entry[0..<4] = ArraySlice(Array("_SM_".utf8))
        entry[5] = 0x1f
        entry[6] = 2; entry[7] = 4
        entry[8] = UInt8(largest & 0xff); entry[9] = UInt8(largest >> 8)
        entry[0x10..<0x15] = ArraySlice(Array("_DMI_".utf8))
        entry[0x16] = UInt8(table.count & 0xff); entry[0x17] = UInt8(table.count >> 8)
        for i in 0..<4 { entry[0x18 + i] = UInt8(truncatingIfNeeded: tableAddress >> (8 * UInt64(i))) }
        entry[0x1c] = UInt8(count); entry[0x1d] = 0
        entry[0x1e] = 0x24
        entry[0x15] = checksum(entry[0x10..<0x1f])
        entry[4] = checksum(entry[0..<0x1f])
        return (entry, table)
    }

    /// The byte that makes `bytes` sum to zero.
    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt8 {
        UInt8(truncatingIfNeeded: 256 - Int(bytes.reduce(UInt8(0), &+)))
    }
}

extension UUIDValue {
    /// The UUID as SMBIOS stores it: the first three fields little-endian (SMBIOS 2.6+ order).
    var smbiosBytes: [UInt8] {
        Array(bytes[0..<4].reversed()) + Array(bytes[4..<6].reversed()) + Array(bytes[6..<8].reversed()) + Array(bytes[8..<16])
    }
}
