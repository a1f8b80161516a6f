import Hypervisor
import Testing

@testable import Session

/// Parses `text` as `file` and maps it to a `DomainConfig`; returns the error, or nil.
private func configError(_ text: String, file: String = "web.cfg") -> ConfigError? {
    do throws(ConfigError) {
        _ = try DomainConfig(XLConfig.parse(text, file: file), file: file)
        return nil
    } catch {
        return error
    }
}

private let realisticFile = """
    # /etc/xen/web.cfg -- a PV guest, written the way xl users write them
    name = "web"
    type = 'pv'
    memory = 64 ; vcpus = 2
    maxmem = 0x80            # 128 MiB
    maxvcpus = 4
    kernel = "builtin:pv64"
    root = "/dev/xvda1 ro"
    extra = 'console=hvc0 quiet msg=\\'hi\\'\\t!'
    uuid = "6E8B2C1A-0F3D-4B5E-9A7C-1D2E3F405060"
    disk = [ 'phy:/dev/vg/web,xvda,w',
             "file:/srv/data.img,xvdb,r",   # trailing comma is fine
           ]
    vif = []
    device_model_stubdomain_override = 1
    on_poweroff = "destroy"
    on_reboot = "restart"
    on_crash = "preserve"
    memory = 96
    """

@Suite struct XLSyntaxTests {
    @Test func realisticFileParsesWithLines() throws {
        let xl = try XLConfig.parse(realisticFile, file: "web.cfg")
        #expect(xl["name"] == XLConfig.Setting(key: "name", value: .string("web"), line: 2))
        #expect(xl["vcpus"]?.line == 4)
        #expect(xl["maxmem"]?.value == .integer(128))
        #expect(xl["extra"]?.value == .string("console=hvc0 quiet msg='hi'\t!"))
        #expect(
            xl["disk"]
                == XLConfig.Setting(
                    key: "disk",
                    value: .list([.string("phy:/dev/vg/web,xvda,w"), .string("file:/srv/data.img,xvdb,r")]),
                    line: 11))
        #expect(xl["vif"]?.value == .list([]))
        // Last assignment wins and keeps its own line; the first is remembered.
        #expect(xl["memory"] == XLConfig.Setting(key: "memory", value: .integer(96), line: 19))
        #expect(xl.overridden == [XLConfig.Setting(key: "memory", value: .integer(64), line: 4)])
        #expect(xl.settings.count == 16)
    }

    @Test func realisticFileMapsToDomainConfig() throws {
        let config = try DomainConfig(XLConfig.parse(realisticFile, file: "web.cfg"), file: "web.cfg")
        var expected = DomainConfig(name: "web")
        expected.type = .pv
        expected.memoryMiB = 96
        expected.vcpus = 2
        expected.kernel = .builtin("pv64")
        expected.cmdline = "root=/dev/xvda1 ro console=hvc0 quiet msg='hi'\t!"
        expected.uuid = UUIDValue("6e8b2c1a-0f3d-4b5e-9a7c-1d2e3f405060")
        expected.onPoweroff = .destroy
        expected.onReboot = .restart
        expected.onCrash = .preserve
        #expect(config == expected)
    }

    @Test func renderedFileParsesBackToTheSameSettings() throws {
        let original = try XLConfig.parse(realisticFile, file: "web.cfg")
        let rendered = original.description
        #expect(rendered.contains(#"extra = "console=hvc0 quiet msg='hi'\t!""#))
        let reparsed = try XLConfig.parse(rendered, file: "rendered.cfg")
        #expect(reparsed.settings.map(\.key) == original.settings.map(\.key))
        #expect(reparsed.settings.map(\.value) == original.settings.map(\.value))
        #expect(reparsed.settings.map(\.line) == Array(1...original.settings.count))
    }

    @Test func stringEscapesFollowXL() throws {
        let xl = try XLConfig.parse(#"s = "\"\\\a\b\f\n\r\t\v\x41\101\7 \'""#, file: "e.cfg")
        #expect(xl["s"]?.value == .string("\"\\\u{07}\u{08}\u{0C}\n\r\t\u{0B}AA\u{07} '"))
    }

    @Test func separatorsCommentsAndCRLF() throws {
        let xl = try XLConfig.parse("a = 1;; b = 'x' # c = 3\r\n;\r\n\td=0X1f;", file: "s.cfg")
        #expect(xl.settings.map(\.key) == ["a", "b", "d"])
        #expect(xl["b"]?.value == .string("x"))
        #expect(xl["d"] == XLConfig.Setting(key: "d", value: .integer(31), line: 3))
        #expect(try XLConfig.parse("", file: "empty.cfg").settings.isEmpty)
    }

    @Test func listsNestAndSpanLines() throws {
        let xl = try XLConfig.parse("l = [\n  1, [ 'a' ],\n\n  0x10 ]\nn = 1", file: "l.cfg")
        #expect(xl["l"]?.value == .list([.integer(1), .list([.string("a")]), .integer(16)]))
        #expect(xl["n"]?.line == 5)
    }
}

@Suite struct ConfigErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let text: String
        let line: Int
        let key: String?
        let message: String
        var testDescription: String { message }
    }

    static let cases: [Case] = [
        // Values out of range or of the wrong kind.
        Case(text: "name = 'web'\n\nmemory = 0", line: 3, key: "memory", message: "must be 1...65536 MiB, got 0"),
        Case(
            text: "name = 'web'\nmemory = 'lots'", line: 2, key: "memory",
            message: "expected an integer number of MiB, got the string 'lots'"),
        Case(text: "name = 'web'\nvcpus = 65", line: 2, key: "vcpus", message: "must be 1...64, got 65"),
        Case(text: "name = 'web'\nvcpus = [1]", line: 2, key: "vcpus", message: "expected an integer, got a list"),
        Case(
            text: "name = 'web'\ndisk = 'phy:/dev/sda'", line: 2, key: "disk",
            message: #"expected a list of strings [ "...", ... ], got the string 'phy:/dev/sda'"#),
        Case(text: "name = 'web'\nkernel = 7", line: 2, key: "kernel", message: "expected a quoted string, got the integer 7"),
        Case(
            text: "name = 'web'\nkernel = 'builtin:'", line: 2, key: "kernel",
            message: "'builtin:' needs an image name, such as builtin:pv64"),
        Case(
            text: "name = 'web'\nuuid = '1234'", line: 2, key: "uuid",
            message: "'1234' is not a UUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"),
        Case(text: "name = 'web'\ntype = 'xen'", line: 2, key: "type", message: "expected one of pv, pvh, hvm, got 'xen'"),
        Case(
            text: "name = 'web'\nmemory = 64\nmaxmem = 32", line: 3, key: "maxmem",
            message: "32 MiB is less than memory (64 MiB)"),
        Case(text: "name = 'web'\nvcpus = 4\nmaxvcpus = 2", line: 3, key: "maxvcpus", message: "2 is less than vcpus (4)"),
        Case(
            text: "name = 'web'\ncmdline = 'quiet'\nroot = '/dev/xvda'", line: 3, key: "root",
            message: "cannot be combined with 'cmdline' (xl would ignore it); put everything in 'cmdline'"),
        // Names.
        Case(text: "# nothing here\nmemory = 16", line: 1, key: "name", message: "required setting is missing"),
        Case(
            text: "\nname = 'my web'", line: 2, key: "name",
            message: "'my web' is not a valid name (1 to 64 characters of A-Z a-z 0-9 _ . -)"),
        Case(text: "name = 'Domain-0'", line: 1, key: "name", message: "'Domain-0' is reserved for the control domain"),
        // Keys.
        Case(
            text: "name = 'web'\nmemroy = 16", line: 2, key: "memroy",
            message: "unknown key 'memroy'; did you mean 'memory'?"),
        Case(text: "name = 'web'\nflavour = 'x'", line: 2, key: "flavour", message: "unknown key 'flavour'"),
        Case(text: "name = 'web'\npci = ['01:00.0']", line: 2, key: "pci", message: "not supported yet by xkv"),
        // Lifecycle actions.
        Case(
            text: "name = 'web'\non_crash = 'coredump-restart'", line: 2, key: "on_crash",
            message: "'coredump-restart' is not supported yet; accepted values: destroy, restart, preserve"),
        Case(
            text: "name = 'web'\non_crash = 'explode'", line: 2, key: "on_crash",
            message: "expected one of destroy, restart, preserve, got 'explode'"),
        // Syntax.
        Case(
            text: "name = 'web'\nkernel = \"builtin:pv64\nmemory = 16", line: 2, key: "kernel",
            message: "unterminated string (missing closing \")"),
        Case(
            text: "name = 'web'\ndisk = [ 'a' 'b' ]", line: 2, key: "disk",
            message: "expected ',' or ']' in the list, found a string"),
        Case(
            text: "name = 'web'\ndisk = [ 'a',\n  'b'\n", line: 2, key: "disk",
            message: "list opened on line 2 has no closing ']'"),
        Case(
            text: "name = 'web'\nmemory = 16M", line: 2, key: "memory",
            message: "malformed number '16M' (xl numbers are plain decimal or 0x hex)"),
        Case(
            text: "name = web", line: 1, key: "name",
            message: "expected a value (a quoted string, a number or a [list]), found 'w'"),
        Case(text: "name = 'web'\nmemory =\n", line: 2, key: "memory", message: "missing value after '='"),
        Case(text: "name 'web'", line: 1, key: "name", message: "expected '=' after the key, found a string"),
        Case(
            text: "name = 'web' 'again'", line: 1, key: "name",
            message: "expected a newline or ';' after the value, found a string"),
        Case(text: "name = 'web'\n= 5", line: 2, key: nil, message: "expected a key, found '='"),
        Case(text: #"name = "a\qb""#, line: 1, key: "name", message: #"unknown escape '\q' in string"#),
        Case(
            text: "name = 'web'\nmemory = 99999999999999999999", line: 2, key: "memory",
            message: "number 99999999999999999999 is too large"),
    ]

    @Test(arguments: cases) func errorNamesFileLineAndKey(_ c: Case) throws {
        let error = try #require(configError(c.text))
        #expect(error == ConfigError(file: "web.cfg", line: c.line, key: c.key, message: c.message))
    }

    @Test func descriptionLocatesTheError() {
        #expect(
            configError("name = 'web'\nmemroy = 16")?.description
                == "web.cfg:2: key 'memroy': unknown key 'memroy'; did you mean 'memory'?")
        #expect(configError("= 5")?.description == "web.cfg:1: expected a key, found '='")
    }

    @Test func everyListedKeyIsHandled() throws {
        // A nested list is the wrong kind for every key, so a handled key reports its
        // value, an unsupported one says so, and none may fall through to "unknown key".
        for key in XLKeys.supported + XLKeys.ignored {
            let error = try #require(configError("name = 'web'\n\(key) = [[1]]"), "\(key)")
            #expect(error.key == key && error.message.hasPrefix("expected"), "\(error)")
        }
        for key in XLKeys.unsupported {
            #expect(configError("name = 'web'\n\(key) = 1")?.message == "not supported yet by xkv")
        }
    }

    @Test func numericStringsCountAsIntegers() throws {
        let config = try DomainConfig(XLConfig.parse("name='a'\nmemory='16'", file: "a.cfg"), file: "a.cfg")
        #expect(config.memoryMiB == 16)
    }

    @Test func defaultsMatchXL() throws {
        let config = try DomainConfig(XLConfig.parse("name = 'tiny'", file: "t.cfg"), file: "t.cfg")
        #expect(config == DomainConfig(name: "tiny"))
        #expect(config.onReboot == .restart && config.onCrash == .destroy)
    }

    @Test func editDistanceSuggestsOnlyCloseKeys() {
        #expect(editDistance("memroy", "memory") == 2)
        #expect(editDistance("", "abc") == 3)
        #expect(DomainConfig.unknownKeyMessage("vcpu") == "unknown key 'vcpu'; did you mean 'vcpus'?")
        #expect(DomainConfig.unknownKeyMessage("on_crsh") == "unknown key 'on_crsh'; did you mean 'on_crash'?")
        #expect(DomainConfig.unknownKeyMessage("zz") == "unknown key 'zz'")
    }
}

@Suite struct InlineAssignmentTests {
    @Test func createWordsBecomeADomainConfig() throws {
        let words = try CommandLexer.words(
            in: #"create name=web type=pv memory=16 kernel=builtin:pv64 cmdline="echo=hi there""#)
        #expect(words.first == "create")
        let xl = try XLConfig.parse(assignments: Array(words.dropFirst()), origin: "<console>")
        #expect(xl["memory"]?.value == .integer(16))
        #expect(xl["cmdline"]?.value == .string("echo=hi there"))
        let config = try DomainConfig(xl, file: "<console>")
        var expected = DomainConfig(name: "web")
        expected.memoryMiB = 16
        expected.cmdline = "echo=hi there"
        #expect(config == expected)
    }

    @Test func inlineListsTakeQuotedAndBareElements() throws {
        let words = try CommandLexer.words(in: #"disk='["phy:/dev/sda,xvda,w", file:/x.img, 3]' empty=[] n=007"#)
        let xl = try XLConfig.parse(assignments: words, origin: "<console>")
        #expect(xl["disk"]?.value == .list([.string("phy:/dev/sda,xvda,w"), .string("file:/x.img"), .integer(3)]))
        #expect(xl["empty"]?.value == .list([]))
        #expect(xl["n"]?.value == .integer(7))
    }

    @Test func inlineErrorsNameOriginLineAndKey() {
        func error(_ words: [String]) -> ConfigError? {
            do throws(ConfigError) {
                let xl = try XLConfig.parse(assignments: words, origin: "boot.xkv", line: 12)
                _ = try DomainConfig(xl, file: "boot.xkv")
                return nil
            } catch {
                return error
            }
        }
        #expect(
            error(["name=web", "memory"])
                == ConfigError(file: "boot.xkv", line: 12, key: nil, message: "expected key=value, got 'memory'"))
        #expect(
            error(["name=web", "disk=[a"])
                == ConfigError(file: "boot.xkv", line: 12, key: "disk", message: "list opened on line 12 has no closing ']'"))
        #expect(error(["name=web", "memory=lots"])?.key == "memory")
        // Inline settings carry the origin's line, so mapping errors point there too.
        #expect(
            error(["name=web", "on_crash=coredump-destroy"])?.description
                == "boot.xkv:12: key 'on_crash': 'coredump-destroy' is not supported yet; accepted values: destroy, restart, preserve")
    }

    @Test func inlineDuplicateKeysLastWins() throws {
        let xl = try XLConfig.parse(assignments: ["memory=16", "name=a", "memory=32"], origin: "<console>")
        #expect(xl.settings.map(\.key) == ["name", "memory"])
        #expect(xl["memory"]?.value == .integer(32))
        #expect(xl.overridden.map(\.value) == [.integer(16)])
    }
}
