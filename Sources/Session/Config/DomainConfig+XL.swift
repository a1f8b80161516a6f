import Hypervisor

/// The xl.cfg keys xkv knows, grouped by what it does with them.
public enum XLKeys {
    /// Keys that map into a `DomainConfig`.
    public static let supported = [
        "name", "type", "memory", "maxmem", "vcpus", "maxvcpus", "kernel", "cmdline", "extra",
        "root", "uuid", "on_poweroff", "on_reboot", "on_crash",
    ]

    /// Keys accepted and ignored for now. Their value kind is still checked. They are here
    /// because the configurations xkv must load (DESIGN.md "Configuration": HVM guests with
    /// a device-model stubdom, pv-grub guests) carry them, and the features behind them
    /// (disks, networks, ramdisks, stubdom selection) are being built in other layers.
    /// Move a key out of this list as soon as it has a meaning.
    public static let ignored = ["ramdisk", "disk", "vif", "device_model_stubdomain_override"]

    /// Real xl keys that xkv does not implement. They are refused with "not supported yet"
    /// rather than dropped, because a guest that silently lacks a device or a setting fails
    /// far away from the cause.
    public static let unsupported = [
        "builder", "bootloader", "bootloader_args", "boot", "firmware", "bios",
        "cpus", "cpus_soft", "cpu_weight", "cap", "pool", "on_watchdog", "on_soft_reset",
        "pci", "vfb", "vkb", "vtpm", "p9", "channel", "usb", "usbctrl", "usbdev", "usbdevice",
        "serial", "vga", "videoram", "stdvga", "vnc", "vnclisten", "vncpasswd", "sdl",
        "soundhw", "acpi", "apic", "pae", "hap", "nestedhvm", "viridian", "shadow_memory",
        "device_model_version", "device_model_override", "device_model_args", "stubdomain_kernel",
        "localtime", "rtc_timeoffset", "tsc_mode", "seclabel", "iomem", "ioports", "irqs",
        "max_grant_frames", "max_maptrack_frames", "claim_mode", "driver_domain", "nomigrate",
    ]
}

extension DomainConfig {
    /// Maps and validates xl.cfg settings. Every error names `file`, the setting's line and
    /// its key. Keys: see `XLKeys`; anything else is an unknown key (with a "did you mean"
    /// when a known key is within two edits).
    ///
    /// The kernel command line is built as xl builds it: `cmdline`, or else
    /// `root=ROOT EXTRA` from `root` and `extra`. xl ignores `root`/`extra` next to
    /// `cmdline` with a warning; xkv refuses the combination since it has nowhere to warn.
    public init(_ xl: XLConfig, file: String) throws(ConfigError) {
        guard let name = xl["name"] else {
            // No setting to point at: the file as a whole lacks it, so line 1.
            throw ConfigError(file: file, line: 1, key: "name", message: "required setting is missing")
        }
        self.init(name: try Field(name, file).domainName())

        var root: (field: Field, text: String)?
        var extra: (field: Field, text: String)?
        var explicitCmdline = false
        var maxmem: (field: Field, value: Int)?
        var maxvcpus: (field: Field, value: Int)?

        for setting in xl.settings {
            let field = Field(setting, file)
            switch setting.key {
            case "name": break
            case "type": type = try field.choice(DomainType.self)
            case "memory": memoryMiB = try field.integer(in: 1...Self.maximumMemoryMiB, unit: "MiB")
            case "maxmem": maxmem = (field, try field.integer(in: 1...Self.maximumMemoryMiB, unit: "MiB"))
            case "vcpus": vcpus = try field.integer(in: 1...Self.maximumVCPUs)
            case "maxvcpus": maxvcpus = (field, try field.integer(in: 1...Self.maximumVCPUs))
            case "kernel": kernel = try field.kernel()
            case "cmdline": cmdline = try field.string(); explicitCmdline = true
            case "extra": extra = (field, try field.string())
            case "root": root = (field, try field.string())
            case "uuid": uuid = try field.uuid()
            case "on_poweroff": onPoweroff = try field.lifecycleAction()
            case "on_reboot": onReboot = try field.lifecycleAction()
            case "on_crash": onCrash = try field.lifecycleAction()
            case "ramdisk": _ = try field.string()
            case "disk", "vif": _ = try field.stringList()
            case "device_model_stubdomain_override": _ = try field.integer(in: 0...1)
            case let key where XLKeys.unsupported.contains(key):
                throw field.error("not supported yet by xkv")
            case let key:
                throw field.error(Self.unknownKeyMessage(key))
            }
        }

        if let conflicting = root ?? extra, explicitCmdline {
            throw conflicting.field.error(
                "cannot be combined with 'cmdline' (xl would ignore it); put everything in 'cmdline'")
        }
        switch (root?.text, extra?.text) {
        case let (root?, extra?): cmdline = "root=\(root) \(extra)"
        case let (root?, nil): cmdline = "root=\(root)"
        case let (nil, extra?): cmdline = extra
        case (nil, nil): break
        }
        if let maxmem, maxmem.value < memoryMiB {
            throw maxmem.field.error("\(maxmem.value) MiB is less than memory (\(memoryMiB) MiB)")
        }
        if let maxvcpus, maxvcpus.value < vcpus {
            throw maxvcpus.field.error("\(maxvcpus.value) is less than vcpus (\(vcpus))")
        }
    }

    static func unknownKeyMessage(_ key: String) -> String {
        let known = XLKeys.supported + XLKeys.ignored + XLKeys.unsupported
        let ranked = known.map { (key: $0, distance: editDistance(key, $0)) }
        // min(by:) keeps the first of equals, so supported keys win ties.
        if let best = ranked.min(by: { $0.distance < $1.distance }),
            best.distance <= 2, best.distance < key.count
        {
            return "unknown key '\(key)'; did you mean '\(best.key)'?"
        }
        return "unknown key '\(key)'"
    }
}

/// Levenshtein distance: insertions, deletions and substitutions each cost 1.
func editDistance(_ a: String, _ b: String) -> Int {
    let b = Array(b)
    // The classic table, one row at a time: entering the loop for a character of `a`,
    // previous[j] is the distance from the part of `a` before it to the first j of `b`.
    var previous = Array(0...b.count)
    for (i, ca) in a.enumerated() {
        var current = [i + 1]
        for (j, cb) in b.enumerated() {
            current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1)))
        }
        previous = current
    }
    return previous[b.count]
}

/// One setting being mapped, with its file, so that every error names file, line and key.
private struct Field {
    let setting: XLConfig.Setting
    let file: String

    init(_ setting: XLConfig.Setting, _ file: String) {
        self.setting = setting
        self.file = file
    }

    func error(_ message: String) -> ConfigError {
        ConfigError(file: file, line: setting.line, key: setting.key, message: message)
    }

    func string() throws(ConfigError) -> String {
        guard case .string(let text) = setting.value else {
            throw error("expected a quoted string, got \(setting.value.kind)")
        }
        return text
    }

    /// An integer in `range`; a string of decimal digits counts too (`memory = "16"`).
    /// `unit` (such as "MiB") only decorates messages.
    func integer(in range: ClosedRange<Int>, unit: String? = nil) throws(ConfigError) -> Int {
        let expected = unit.map { "an integer number of \($0)" } ?? "an integer"
        let bounds = "\(range.lowerBound)...\(range.upperBound)" + (unit.map { " " + $0 } ?? "")
        let number: Int64
        switch setting.value {
        case .integer(let value):
            number = value
        case .string(let text) where !text.isEmpty && text.allSatisfy({ $0.isASCII && $0.isNumber }):
            // All digits but too long for Int64: report it as out of range below.
            number = Int64(text) ?? .max
        default:
            throw error("expected \(expected), got \(setting.value.kind)")
        }
        guard let value = Int(exactly: number), range.contains(value) else {
            throw error("must be \(bounds), got \(number)")
        }
        return value
    }

    func stringList() throws(ConfigError) -> [String] {
        guard case .list(let items) = setting.value else {
            throw error("expected a list of strings [ \"...\", ... ], got \(setting.value.kind)")
        }
        var strings: [String] = []
        for item in items {
            guard case .string(let text) = item else {
                throw error("expected a list of strings, but an element is \(item.kind)")
            }
            strings.append(text)
        }
        return strings
    }

    func choice<T: RawRepresentable & CaseIterable>(_: T.Type) throws(ConfigError) -> T
    where T.RawValue == String {
        let text = try string()
        guard let value = T(rawValue: text) else {
            throw error("expected one of \(Self.list(T.self)), got '\(text)'")
        }
        return value
    }

    func lifecycleAction() throws(ConfigError) -> LifecycleAction {
        // Real xl actions that xkv has no engine support for yet.
        let xlOnly = ["rename-restart", "coredump-destroy", "coredump-restart", "soft-reset"]
        let text = try string()
        if xlOnly.contains(text) {
            throw error("'\(text)' is not supported yet; accepted values: \(Self.list(LifecycleAction.self))")
        }
        return try choice(LifecycleAction.self)
    }

    func domainName() throws(ConfigError) -> String {
        let name = try string()
        let allowed = name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                || $0 == "_" || $0 == "." || $0 == "-"
        }
        guard (1...64).contains(name.count), allowed else {
            throw error("'\(name)' is not a valid name (1 to 64 characters of A-Z a-z 0-9 _ . -)")
        }
        guard name != "Domain-0" else { throw error("'Domain-0' is reserved for the control domain") }
        return name
    }

    func kernel() throws(ConfigError) -> KernelSource {
        let text = try string()
        let source = KernelSource(text)
        switch source {
        case .file(""): throw error("must not be empty")
        case .builtin(""): throw error("'builtin:' needs an image name, such as builtin:pv64")
        default: return source
        }
    }

    func uuid() throws(ConfigError) -> UUIDValue {
        let text = try string()
        guard let uuid = UUIDValue(text) else {
            throw error("'\(text)' is not a UUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
        }
        return uuid
    }

    private static func list<T: RawRepresentable & CaseIterable>(_: T.Type) -> String
    where T.RawValue == String {
        T.allCases.map(\.rawValue).joined(separator: ", ")
    }
}
