//! A SQL lexer just precise enough to split a file into statements and to
//! read the statements sqlparser rejects: quotes of every dialect, dollar
//! quotes (tagged, nested by tag), nested block comments, psql
//! meta-commands, MySQL `DELIMITER` lines, and the bodies that hold `;`
//! without ending the statement (`BEGIN ATOMIC .. END`, trigger and routine
//! `BEGIN .. END` blocks).

use super::sql::Dialect;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A keyword or unquoted identifier.
    Word,
    /// `"x"`, `` `x` ``, `[x]`.
    Quoted,
    /// `'x'`, `E'x'`.
    Str,
    /// `$tag$ .. $tag$`.
    Dollar,
    Number,
    /// One punctuation character (`;` included).
    Punct,
    /// `$1`, `?`, `:name`.
    Param,
    /// A psql meta-command or MySQL `DELIMITER` line.
    Meta,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tok {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

impl Tok {
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        src.get(self.start..self.end).unwrap_or("")
    }
    /// Is this the keyword `kw` (any case)?
    pub fn is(&self, src: &str, kw: &str) -> bool {
        self.kind == Kind::Word && self.text(src).eq_ignore_ascii_case(kw)
    }
    pub fn is_punct(&self, src: &str, c: char) -> bool {
        self.kind == Kind::Punct && self.text(src).starts_with(c)
    }
}

fn ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Tokens of `src`, comments and blanks left out. Never fails: an
/// unterminated quote or comment runs to the end of the text.
pub fn tokens(src: &str, dialect: Dialect) -> Vec<Tok> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mysql = dialect == Dialect::Mysql;
    let line_start = |i: usize| {
        let mut j = i;
        while j > 0 && matches!(b[j - 1], b' ' | b'\t') {
            j -= 1;
        }
        j == 0 || b[j - 1] == b'\n'
    };
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // Comments.
        if c == b'-' && b.get(i + 1) == Some(&b'-') || c == b'#' && (mysql || line_start(i)) {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            // PostgreSQL nests block comments; MySQL and SQLite end at the first `*/`.
            let nests = !matches!(dialect, Dialect::Mysql | Dialect::Sqlite);
            let mut depth = 0usize;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                    if !nests && depth > 1 {
                        depth = 1;
                    }
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            continue;
        }
        // psql meta-commands (`\connect db`) and MySQL client `DELIMITER //`: a line each.
        if c == b'\\' && line_start(i) || is_delimiter_line(src, i) && line_start(i) {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            out.push(Tok {
                kind: Kind::Meta,
                start,
                end: i,
            });
            continue;
        }
        let kind = match c {
            b'\'' => {
                // Backslash escapes: MySQL strings, PostgreSQL E'' strings.
                let escapes = mysql || (i > 0 && matches!(b[i - 1], b'E' | b'e'));
                i = end_of_quote(b, i, b'\'', escapes);
                Kind::Str
            }
            b'"' => {
                i = end_of_quote(b, i, b'"', mysql);
                if mysql {
                    Kind::Str
                } else {
                    Kind::Quoted
                }
            }
            b'`' => {
                i = end_of_quote(b, i, b'`', false);
                Kind::Quoted
            }
            b'[' if matches!(dialect, Dialect::Sqlite) => {
                i = src[i..].find(']').map(|p| i + p + 1).unwrap_or(b.len());
                Kind::Quoted
            }
            b'$' if !mysql => match dollar_tag(b, i) {
                Some(tag_end) => {
                    let tag = &src[i..tag_end];
                    i = src[tag_end..]
                        .find(tag)
                        .map(|p| tag_end + p + tag.len())
                        .unwrap_or(b.len());
                    Kind::Dollar
                }
                None => {
                    i += 1;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    Kind::Param
                }
            },
            b'?' => {
                i += 1;
                Kind::Param
            }
            c if ident_start(c) => {
                // E'..' / N'..' / X'..' / B'..' prefixes belong to the string.
                if matches!(
                    c,
                    b'E' | b'e' | b'N' | b'n' | b'X' | b'x' | b'B' | b'b' | b'U' | b'u'
                ) && b.get(i + 1) == Some(&b'\'')
                {
                    let escapes = mysql || matches!(c, b'E' | b'e');
                    i = end_of_quote(b, i + 1, b'\'', escapes);
                    Kind::Str
                } else {
                    while i < b.len() && ident_char(b[i]) {
                        i += 1;
                    }
                    Kind::Word
                }
            }
            c if c.is_ascii_digit() => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
                Kind::Number
            }
            _ => {
                // One character (a whole UTF-8 sequence).
                i += src[i..].chars().next().map(char::len_utf8).unwrap_or(1);
                Kind::Punct
            }
        };
        out.push(Tok {
            kind,
            start,
            end: i.min(b.len()),
        });
    }
    out
}

fn is_delimiter_line(src: &str, i: usize) -> bool {
    src.get(i..i + 10)
        .is_some_and(|s| s.eq_ignore_ascii_case("delimiter "))
}

/// Index just past the closing quote of the quote opened at `i`.
fn end_of_quote(b: &[u8], i: usize, q: u8, escapes: bool) -> usize {
    let mut j = i + 1;
    while j < b.len() {
        if escapes && b[j] == b'\\' {
            j += 2;
            continue;
        }
        if b[j] == q {
            if b.get(j + 1) == Some(&q) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    b.len()
}

/// `$tag$` at `i` (tag empty or an identifier not starting with a digit, and
/// `$` not the tail of an identifier): the index past its closing `$`.
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    if i > 0 && ident_char(b[i - 1]) {
        return None;
    }
    let mut j = i + 1;
    if j < b.len() && b[j].is_ascii_digit() {
        return None;
    }
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80) {
        j += 1;
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1)
}

/// The delimiter spelled by the tokens from `k` on (it may take several:
/// `//`, `$$`): the index of the token after it.
fn delimiter_at(src: &str, toks: &[Tok], k: usize, delimiter: &str) -> Option<usize> {
    let d = delimiter.as_bytes();
    let (mut j, mut pos) = (k, 0);
    while pos < d.len() && j < toks.len() {
        let tt = toks[j].text(src).as_bytes();
        if toks[j].kind != Kind::Punct || tt.is_empty() || !d[pos..].starts_with(tt) {
            break;
        }
        pos += tt.len();
        j += 1;
    }
    (pos == d.len()).then_some(j)
}

/// Statements of `src` as byte ranges (from their first token to the end of
/// their last), split at `;` (or the `DELIMITER` in force) outside quotes,
/// comments and bodies.
pub fn split(src: &str, dialect: Dialect) -> Vec<(usize, usize)> {
    let toks = tokens(src, dialect);
    let mut out = Vec::new();
    let mut first: Option<usize> = None;
    let mut last_end = 0;
    let mut delimiter = ";".to_string();
    // Inside a routine or trigger: BEGIN .. END blocks and CASE .. END.
    let mut routine = false;
    let mut blocks = 0usize;
    let mut cases = 0usize;
    let mut head: Vec<usize> = Vec::new();
    let mut head_done = false;
    let mut k = 0;
    while k < toks.len() {
        let t = toks[k];
        if t.kind == Kind::Meta {
            let line = t.text(src);
            if let Some(d) = line
                .get(10..)
                .map(str::trim)
                .filter(|_| is_delimiter_line(line, 0))
            {
                if !d.is_empty() {
                    delimiter = d.to_string();
                }
            }
            if let Some(f) = first.take() {
                out.push((f, last_end));
            }
            head.clear();
            head_done = false;
            (routine, blocks, cases) = (false, 0, 0);
            k += 1;
            continue;
        }
        // The delimiter, which may be several punctuation tokens (`//`, `$$`).
        if blocks == 0 {
            if let Some(next) = delimiter_at(src, &toks, k, &delimiter) {
                if let Some(f) = first.take() {
                    out.push((f, last_end));
                }
                head.clear();
                head_done = false;
                (routine, cases) = (false, 0);
                k = next;
                continue;
            }
        }
        if first.is_none() {
            first = Some(t.start);
        }
        last_end = t.end;
        // The words before the first `(`: `CREATE [OR REPLACE] [DEFINER=..] TRIGGER`.
        if t.is_punct(src, '(') {
            head_done = true;
        }
        if t.kind == Kind::Word && !head_done && head.len() < 8 {
            head.push(k);
            if head.len() >= 2 && toks[head[0]].is(src, "create") {
                routine |= ["function", "procedure", "trigger", "event"]
                    .iter()
                    .any(|w| t.is(src, w));
            }
        }
        if routine && t.kind == Kind::Word {
            if t.is(src, "begin") {
                let next = toks.get(k + 1);
                let txn = next.is_some_and(|n| {
                    n.is(src, "transaction") || n.is(src, "work") || n.is_punct(src, ';')
                });
                if !txn {
                    blocks += 1;
                }
            } else if blocks > 0 && t.is(src, "case") {
                cases += 1;
            } else if blocks > 0 && t.is(src, "end") {
                // `END IF`, `END LOOP`, `END CASE` close inner plpgsql/MySQL constructs.
                let next = toks.get(k + 1);
                let inner = next.is_some_and(|n| {
                    ["if", "loop", "while", "repeat", "for"]
                        .iter()
                        .any(|w| n.is(src, w))
                });
                if next.is_some_and(|n| n.is(src, "case")) {
                    cases = cases.saturating_sub(1);
                    k += 1;
                } else if inner {
                    k += 1;
                } else if cases > 0 {
                    cases -= 1;
                } else {
                    blocks -= 1;
                }
            }
        }
        k += 1;
    }
    if let Some(f) = first {
        out.push((f, last_end));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(src: &str, d: Dialect) -> Vec<&str> {
        split(src, d).into_iter().map(|(s, e)| &src[s..e]).collect()
    }

    #[test]
    fn dollar_quotes_nest_by_tag_and_placeholders_are_not_quotes() {
        let src = "CREATE FUNCTION f() RETURNS void AS $a$\nBEGIN\n  EXECUTE $b$ SELECT 1; $b$;\n  PERFORM $$x;$$;\nEND\n$a$ LANGUAGE plpgsql;\nSELECT * FROM t WHERE id = $1;\nSELECT a$b FROM t";
        let p = parts(src, Dialect::Postgres);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].ends_with("LANGUAGE plpgsql"));
        assert_eq!(p[1], "SELECT * FROM t WHERE id = $1");
    }

    #[test]
    fn nested_comments_in_postgres_not_in_mysql() {
        let src = "/* outer /* inner; */ still; */ SELECT 1; SELECT 2";
        assert_eq!(parts(src, Dialect::Postgres), vec!["SELECT 1", "SELECT 2"]);
        // MySQL ends the comment at the first `*/`.
        assert_eq!(parts(src, Dialect::Mysql).len(), 3);
    }

    #[test]
    fn begin_atomic_and_trigger_bodies_keep_their_semicolons() {
        let src = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN 1 = 1 THEN 1 END; SELECT 2; END;\nBEGIN;\nCREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET n = n + 1; DELETE FROM c; END;\nCOMMIT;";
        let p = parts(src, Dialect::Sqlite);
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(p[0].ends_with("SELECT 2; END"));
        assert_eq!(p[1], "BEGIN");
        assert!(p[2].ends_with("DELETE FROM c; END"));
    }

    #[test]
    fn mysql_delimiter_and_backslash_escapes() {
        let src = "SELECT 'it\\'s;';\nDELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END //\nDELIMITER ;\nSELECT `a;b` FROM t;";
        let p = parts(src, Dialect::Mysql);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[1].starts_with("CREATE PROCEDURE") && p[1].ends_with("END"));
        // PostgreSQL strings do not escape with backslashes, E'' strings do.
        assert_eq!(
            parts("SELECT 'C:\\'; SELECT E'\\';x'", Dialect::Postgres).len(),
            2
        );
    }

    #[test]
    fn a_column_named_trigger_is_not_a_routine() {
        let src = "CREATE TABLE ev (id int, trigger text, begin int); SELECT 1";
        assert_eq!(parts(src, Dialect::Postgres).len(), 2);
        let src = "CREATE DEFINER=`root`@`%` TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.x = 1; END; SELECT 1";
        assert_eq!(parts(src, Dialect::Mysql).len(), 2);
    }

    #[test]
    fn unterminated_input_never_panics() {
        for src in [
            "'abc",
            "$a$ abc",
            "/* x",
            "\"x",
            "E'\\",
            "$",
            "DELIMITER ",
            "é'",
        ] {
            for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
                let _ = split(src, d);
            }
        }
    }
}
