//! Source text and positions.
//!
//! Every frontend reports positions as [`Pos`] (1-based line, 1-based column
//! counted in characters, as the contract asks), whatever its parser counts in
//! (syn: characters, tree-sitter and sqlparser: bytes or characters). The line
//! index converts between byte offsets and positions so that embedded SQL and
//! regex matches map back to exact places in the host file.

use serde::Serialize;

/// A 1-based line and 1-based character column.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub fn new(line: u32, col: u32) -> Self {
        Pos {
            line: line.max(1),
            col: col.max(1),
        }
    }
}

/// A start and end position (end is inclusive of the last character: the
/// column just after it, as editors and SARIF expect).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    pub fn new(start: Pos, end: Pos) -> Self {
        let end = if end < start { start } else { end };
        Span { start, end }
    }
    pub fn point(p: Pos) -> Self {
        Span { start: p, end: p }
    }
}

/// Byte offsets of line starts, with the text, to convert offsets and positions.
/// Handles LF, CRLF and lone CR line endings, and a leading UTF-8 BOM (which
/// is not a character of the first line).
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
    /// Lines with a non-ASCII byte: only there must columns count characters
    /// (elsewhere column = byte distance, which keeps a 3 MB minified line linear).
    non_ascii: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        let mut non_ascii = Vec::new();
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] >= 0x80 && non_ascii.last() != Some(&(starts.len() - 1)) {
                non_ascii.push(starts.len() - 1);
            }
            match b[i] {
                b'\n' => starts.push(i + 1),
                b'\r' => {
                    if b.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    starts.push(i + 1);
                }
                _ => {}
            }
            i += 1;
        }
        LineIndex {
            text,
            starts,
            non_ascii,
        }
    }

    fn ascii_line(&self, line: usize) -> bool {
        self.non_ascii.binary_search(&line).is_err()
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// Position of a byte offset (clamped to the text, snapped to a char boundary).
    pub fn pos(&self, offset: usize) -> Pos {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.starts.binary_search(&offset) {
            Ok(l) => l,
            Err(l) => l - 1,
        };
        let mut start = self.starts[line];
        if line == 0 && self.text.starts_with('\u{feff}') && offset >= 3 {
            start = 3;
        }
        let col = if self.ascii_line(line) {
            offset.saturating_sub(start)
        } else {
            self.text[start..offset].chars().count()
        } + 1;
        Pos::new(line as u32 + 1, col as u32)
    }

    /// Byte offset of a position (clamped to the line's end).
    pub fn offset(&self, pos: Pos) -> usize {
        let line = (pos.line.max(1) as usize - 1).min(self.starts.len() - 1);
        let mut start = self.starts[line];
        if line == 0 && self.text.starts_with('\u{feff}') {
            start = 3;
        }
        let end = self.line_end(line).max(start);
        let target = pos.col.max(1) as usize - 1;
        if self.ascii_line(line) {
            return (start + target).min(end);
        }
        match self.text[start..end].char_indices().nth(target) {
            Some((i, _)) => start + i,
            None => end,
        }
    }

    /// Byte offset where line `line` (0-based) ends, before its terminator.
    fn line_end(&self, line: usize) -> usize {
        let next = self
            .starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len());
        let s = &self.text.as_bytes()[..next];
        let mut e = next;
        while e > self.starts[line] && matches!(s[e - 1], b'\n' | b'\r') {
            e -= 1;
        }
        e
    }

    /// The text of a 1-based line, without its terminator.
    pub fn line_text(&self, line: u32) -> &'a str {
        let l = (line.max(1) as usize - 1).min(self.starts.len() - 1);
        &self.text[self.starts[l]..self.line_end(l)]
    }

    pub fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.pos(start), self.pos(end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_and_all_line_endings() {
        let text = "ab\r\ncé\rx\ny";
        let idx = LineIndex::new(text);
        assert_eq!(idx.pos(0), Pos::new(1, 1));
        assert_eq!(idx.pos(4), Pos::new(2, 1));
        // 'é' is two bytes: the CR after it is column 3.
        assert_eq!(idx.pos(7), Pos::new(2, 3));
        assert_eq!(idx.pos(8), Pos::new(3, 1));
        assert_eq!(idx.pos(10), Pos::new(4, 1));
        assert_eq!(idx.offset(Pos::new(2, 3)), 7);
        assert_eq!(idx.line_text(2), "cé");
    }

    #[test]
    fn bom_is_not_a_column() {
        let text = "\u{feff}key = 1";
        let idx = LineIndex::new(text);
        assert_eq!(idx.pos(3), Pos::new(1, 1));
        assert_eq!(idx.pos(6), Pos::new(1, 4));
        assert_eq!(idx.offset(Pos::new(1, 4)), 6);
    }
}
