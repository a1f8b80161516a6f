import Testing

@testable import Session

@Suite struct LexerTests {
    private func lexError(_ line: String) -> LexError? {
        do throws(LexError) {
            _ = try CommandLexer.words(in: line)
            return nil
        } catch {
            return error
        }
    }

    @Test func whitespaceSeparatesWords() throws {
        #expect(try CommandLexer.words(in: "  list \t -l   web ") == ["list", "-l", "web"])
        #expect(try CommandLexer.words(in: "") == [])
        #expect(try CommandLexer.words(in: "   ") == [])
    }

    @Test func singleQuotesAreLiteral() throws {
        #expect(try CommandLexer.words(in: #"echo 'a "b" \n #c'"#) == ["echo", #"a "b" \n #c"#])
    }

    @Test func doubleQuotesUnderstandEscapes() throws {
        #expect(try CommandLexer.words(in: #"say "a \"b\" \\ \n\t""#) == ["say", "a \"b\" \\ \n\t"])
        // Other backslashes stay as typed, as in a POSIX shell.
        #expect(try CommandLexer.words(in: #"path "C:\dir""#) == ["path", #"C:\dir"#])
    }

    @Test func quotedPiecesJoinTheirWord() throws {
        #expect(
            try CommandLexer.words(in: #"create name=web cmdline="console=hvc0 quiet" x='1 2'"#)
                == ["create", "name=web", "cmdline=console=hvc0 quiet", "x=1 2"])
        #expect(try CommandLexer.words(in: #"a'b'"c" '' """#) == ["abc", "", ""])
    }

    @Test func backslashOutsideQuotesTakesTheNextCharacter() throws {
        #expect(try CommandLexer.words(in: ##"open my\ file \#x"##) == ["open", "my file", "#x"])
    }

    @Test func hashStartsACommentOutsideQuotes() throws {
        #expect(try CommandLexer.words(in: "create web # the web server") == ["create", "web"])
        #expect(try CommandLexer.words(in: "pause web#now") == ["pause", "web"])
        #expect(try CommandLexer.words(in: ##"echo '#1' "#2""##) == ["echo", "#1", "#2"])
        #expect(try CommandLexer.words(in: "# only a comment") == [])
    }

    @Test func unterminatedQuotesReportTheOpeningColumn() {
        #expect(lexError("echo 'abc") == LexError(column: 6, message: "unterminated single quote"))
        #expect(lexError(#"x = "abc"#) == LexError(column: 5, message: "unterminated double quote"))
        // A backslash cannot escape the end of the line from inside quotes.
        #expect(lexError(#"x "abc\"#)?.column == 3)
    }

    @Test func danglingBackslashReportsItsColumn() {
        let error = lexError(#"echo abc\"#)
        #expect(error == LexError(column: 9, message: "dangling backslash at end of line"))
        #expect(error?.description == "column 9: dangling backslash at end of line")
    }

    @Test func columnsCountCharactersNotBytes() {
        #expect(lexError("écho 'x")?.column == 6)
    }
}
