/// Splits one console command line into words, the way a small shell would.
///
/// - Whitespace separates words.
/// - `'single quotes'` are literal: nothing inside them is special.
/// - `"double quotes"` understand `\"`, `\\`, `\n` and `\t`; any other backslash is kept
///   as typed (as in a POSIX shell), so `"C:\dir"` needs no doubling.
/// - A backslash outside quotes takes the next character literally (`a\ b` is one word).
/// - `#` outside quotes starts a comment that runs to the end of the line, even in the
///   middle of a word: quote it (`'#'`) to use it literally.
/// - Quoted and unquoted pieces that touch form one word: `key="a b"` is the word `key=a b`,
///   and `''` is an empty word.
public struct CommandLexer {
    /// The words of `line`, with quotes removed and escapes resolved.
    /// Throws a `LexError` at the column of the opening quote or dangling backslash.
    public static func words(in line: String) throws(LexError) -> [String] {
        // Characters, not bytes, so that columns match what the operator sees.
        let chars = Array(line)
        var words: [String] = []
        var word = ""
        // Separate from `word.isEmpty`: `''` starts a word that stays empty.
        var inWord = false
        var i = 0

        while i < chars.count {
            let c = chars[i]
            switch c {
            case "#":
                while i < chars.count, chars[i] != "\n" { i += 1 }
                continue // the newline, if any, ends the word as whitespace
            case "'":
                let open = i
                i += 1
                while i < chars.count, chars[i] != "'" {
                    word.append(chars[i])
                    i += 1
                }
                guard i < chars.count else {
                    throw LexError(column: open + 1, message: "unterminated single quote")
                }
                inWord = true
            case "\"":
                let open = i
                i += 1
                while true {
                    guard i < chars.count else {
                        throw LexError(column: open + 1, message: "unterminated double quote")
                    }
                    if chars[i] == "\"" { break }
                    if chars[i] == "\\", i + 1 < chars.count {
                        i += 1
                        switch chars[i] {
                        case "n": word.append("\n")
                        case "t": word.append("\t")
                        case "\"", "\\": word.append(chars[i])
                        default: word.append("\\"); word.append(chars[i])
                        }
                    } else {
                        word.append(chars[i])
                    }
                    i += 1
                }
                inWord = true
            case "\\":
                guard i + 1 < chars.count else {
                    throw LexError(column: i + 1, message: "dangling backslash at end of line")
                }
                i += 1
                word.append(chars[i])
                inWord = true
            case _ where c.isWhitespace:
                if inWord {
                    words.append(word)
                    word = ""
                    inWord = false
                }
            default:
                word.append(c)
                inWord = true
            }
            i += 1
        }
        if inWord { words.append(word) }
        return words
    }
}

/// A command line that cannot be split into words.
public struct LexError: Error, Equatable, CustomStringConvertible {
    /// 1-based column (in characters) of the offending quote or backslash.
    public let column: Int
    public let message: String

    public init(column: Int, message: String) {
        self.column = column
        self.message = message
    }

    /// `column N: MESSAGE`.
    public var description: String { "column \(column): \(message)" }
}
