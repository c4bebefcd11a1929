//! CSV split into records and fields (RFC 4180: `,` between fields, `"` quoting with `""` for
//! a quote inside, records ending at a line break outside quotes, `\r\n` or `\n`).
//!
//! Written here rather than taken from the `csv` crate because an unbalanced quote must not
//! swallow the rest of a file: a quoted field still open after [`MAX_RECORD_LINES`] lines (or
//! [`MAX_RECORD_BYTES`], or at the end of the file) is reported at the line where it opened,
//! and the lines it swallowed are read again as rows of their own. The `csv` crate cannot go
//! back to re-read them. A physical line longer than [`MAX_RECORD_BYTES`] is reported and
//! skipped without being held in memory.

use std::collections::VecDeque;
use std::io::{self, BufRead};

/// The most physical lines one record (a quoted field with line breaks) may span.
pub(crate) const MAX_RECORD_LINES: usize = 1_000;
/// The most bytes one record may hold.
pub(crate) const MAX_RECORD_BYTES: usize = 16 << 20;

/// What the splitter found at a line of the file (1 is the first line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CsvItem {
    /// A record starting at `line`, its fields as text.
    Record {
        /// Where it starts.
        line: u64,
        /// Its fields.
        fields: Vec<String>,
    },
    /// A record starting at `line` that is not UTF-8.
    NotUtf8 {
        /// Where it starts.
        line: u64,
    },
    /// A quoted field opened on `line` and did not close properly within the bounds (still
    /// open, text after its closing quote, or a record of the wrong width once closed); `until`
    /// is the last line read while looking for its end (`None`: the end of the file). The lines
    /// after `line` are read again as rows.
    BadQuote {
        /// Where the quoted field opened.
        line: u64,
        /// The last line looked at, unless the file ended.
        until: Option<u64>,
    },
    /// A one-line record with text after a closing quote (`"abc"def`).
    TextAfterQuote {
        /// The line.
        line: u64,
    },
    /// A physical line longer than [`MAX_RECORD_BYTES`], skipped.
    TooLong {
        /// The line.
        line: u64,
    },
}

/// A physical line: its number and bytes without the line break (or marked too long).
#[derive(Debug, Clone)]
enum Line {
    Text(u64, Vec<u8>),
    TooLong(u64),
}

/// Where the scanner stands within a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// Just after a `"` inside a quoted field: a second `"` is a quote, anything else closes.
    QuoteInQuoted,
}

/// Builds one record's fields from its lines.
struct Scanner {
    state: State,
    fields: Vec<Vec<u8>>,
    current: Vec<u8>,
    /// Text came after a closing quote.
    malformed: bool,
}

impl Scanner {
    fn new() -> Self {
        Self { state: State::FieldStart, fields: Vec::new(), current: Vec::new(), malformed: false }
    }

    /// Takes one physical line; true while a quoted field is still open at its end.
    fn feed(&mut self, line: &[u8]) -> bool {
        for &byte in line {
            self.state = match (self.state, byte) {
                (State::FieldStart, b'"') => State::Quoted,
                (State::FieldStart | State::Unquoted | State::QuoteInQuoted, b',') => {
                    self.fields.push(std::mem::take(&mut self.current));
                    State::FieldStart
                }
                (State::Quoted, b'"') => State::QuoteInQuoted,
                (State::QuoteInQuoted, b'"') => {
                    self.current.push(b'"');
                    State::Quoted
                }
                (State::Quoted, _) => {
                    self.current.push(byte);
                    State::Quoted
                }
                (State::QuoteInQuoted, _) => {
                    self.malformed = true;
                    self.current.push(byte);
                    State::Unquoted
                }
                (State::FieldStart | State::Unquoted, _) => {
                    self.current.push(byte);
                    State::Unquoted
                }
            };
        }
        if self.state == State::Quoted {
            self.current.push(b'\n');
            return true;
        }
        false
    }

    fn finish(mut self) -> Vec<Vec<u8>> {
        self.fields.push(self.current);
        self.fields
    }
}

/// The records of a CSV input, in order.
pub(crate) struct CsvRecords<R> {
    input: R,
    /// The header's width, once known: a record spanning lines must have it.
    width: Option<usize>,
    next_line: u64,
    /// Lines read again after an unclosed quote, before the input goes on.
    replay: VecDeque<Line>,
    ended: bool,
}

impl<R: BufRead> CsvRecords<R> {
    /// Splits `input`.
    pub(crate) fn new(input: R) -> Self {
        Self { input, width: None, next_line: 1, replay: VecDeque::new(), ended: false }
    }

    /// Tells the header's width: a record spanning several lines with another width is a
    /// quote gone wrong, and its lines are read again.
    pub(crate) fn expect_width(&mut self, width: usize) {
        self.width = Some(width);
    }

    /// The next physical line, without its line break (and a `\r` before it).
    fn line(&mut self) -> io::Result<Option<Line>> {
        if let Some(line) = self.replay.pop_front() {
            return Ok(Some(line));
        }
        if self.ended {
            return Ok(None);
        }
        let number = self.next_line;
        let mut bytes = Vec::new();
        let mut too_long = false;
        loop {
            let available = self.input.fill_buf()?;
            if available.is_empty() {
                self.ended = true;
                if bytes.is_empty() && !too_long {
                    return Ok(None);
                }
                break;
            }
            let (taken, complete) = match available.iter().position(|byte| *byte == b'\n') {
                Some(at) => (at + 1, true),
                None => (available.len(), false),
            };
            if !too_long {
                let content = if complete { &available[..taken - 1] } else { available };
                if bytes.len() + content.len() > MAX_RECORD_BYTES {
                    too_long = true;
                    bytes = Vec::new();
                } else {
                    bytes.extend_from_slice(content);
                }
            }
            self.input.consume(taken);
            if complete {
                break;
            }
        }
        self.next_line += 1;
        if too_long {
            return Ok(Some(Line::TooLong(number)));
        }
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        Ok(Some(Line::Text(number, bytes)))
    }

    /// The next record, or what went wrong where.
    pub(crate) fn next_item(&mut self) -> io::Result<Option<CsvItem>> {
        let (start, first) = match self.line()? {
            None => return Ok(None),
            Some(Line::TooLong(line)) => return Ok(Some(CsvItem::TooLong { line })),
            Some(Line::Text(line, bytes)) => (line, bytes),
        };
        let mut scanner = Scanner::new();
        let mut open = scanner.feed(&first);
        let mut swallowed: Vec<Line> = Vec::new();
        let mut size = first.len();
        while open {
            let last = swallowed.last().map_or(start, |line| match line {
                Line::Text(number, _) | Line::TooLong(number) => *number,
            });
            if swallowed.len() + 1 >= MAX_RECORD_LINES || size > MAX_RECORD_BYTES {
                return Ok(Some(self.unclosed(start, swallowed, Some(last))));
            }
            match self.line()? {
                None => return Ok(Some(self.unclosed(start, swallowed, None))),
                Some(Line::TooLong(line)) => {
                    swallowed.push(Line::TooLong(line));
                    return Ok(Some(self.unclosed(start, swallowed, Some(line))));
                }
                Some(Line::Text(line, bytes)) => {
                    size += bytes.len();
                    open = scanner.feed(&bytes);
                    swallowed.push(Line::Text(line, bytes));
                }
            }
        }
        let malformed = scanner.malformed;
        let fields = scanner.finish();
        if !swallowed.is_empty() && (malformed || self.width.is_some_and(|width| width != fields.len())) {
            let last = match swallowed.last() {
                Some(Line::Text(number, _) | Line::TooLong(number)) => Some(*number),
                None => None,
            };
            return Ok(Some(self.unclosed(start, swallowed, last)));
        }
        if malformed {
            return Ok(Some(CsvItem::TextAfterQuote { line: start }));
        }
        let fields: Result<Vec<String>, _> = fields.into_iter().map(String::from_utf8).collect();
        Ok(Some(match fields {
            Ok(fields) => CsvItem::Record { line: start, fields },
            Err(_) => CsvItem::NotUtf8 { line: start },
        }))
    }

    /// Reports the quoted field that opened on `start` and puts the lines it swallowed back to
    /// be read again.
    fn unclosed(&mut self, start: u64, swallowed: Vec<Line>, until: Option<u64>) -> CsvItem {
        for line in swallowed.into_iter().rev() {
            self.replay.push_front(line);
        }
        CsvItem::BadQuote { line: start, until }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &str) -> Vec<CsvItem> {
        let mut records = CsvRecords::new(text.as_bytes());
        std::iter::from_fn(|| records.next_item().unwrap()).collect()
    }

    fn record(line: u64, fields: &[&str]) -> CsvItem {
        CsvItem::Record { line, fields: fields.iter().map(|f| (*f).to_owned()).collect() }
    }

    #[test]
    fn records_follow_rfc_4180() {
        let text = "a,b,c\r\n1,\"two, \"\"2\"\"\",3\n\"multi\nline\",x,\n\n4,5\" wide,6";
        assert_eq!(
            items(text),
            vec![
                record(1, &["a", "b", "c"]),
                record(2, &["1", "two, \"2\"", "3"]),
                record(3, &["multi\nline", "x", ""]),
                record(5, &[""]),
                record(6, &["4", "5\" wide", "6"]),
            ]
        );
    }

    #[test]
    fn an_unclosed_quote_is_reported_where_it_opened_and_the_rest_is_read_again() {
        let text = "id,name\n1,\"broken\n2,fine\n3,\"also fine\"\n";
        assert_eq!(
            items(text),
            vec![
                record(1, &["id", "name"]),
                CsvItem::BadQuote { line: 2, until: Some(4) },
                record(3, &["2", "fine"]),
                record(4, &["3", "also fine"]),
            ]
        );
        let text = "id,name\n1,\"open to the end\n2,fine\n";
        assert_eq!(items(text)[1..], [CsvItem::BadQuote { line: 2, until: None }, record(3, &["2", "fine"])]);
        // Closed cleanly but with the wrong width once the header is known.
        let mut records = CsvRecords::new("1,\"a\n2\",3\n".as_bytes());
        records.expect_width(2);
        assert_eq!(records.next_item().unwrap(), Some(CsvItem::BadQuote { line: 1, until: Some(2) }));
        assert_eq!(records.next_item().unwrap(), Some(record(2, &["2\"", "3"])));
        assert_eq!(items("\"a\"b,c\n"), vec![CsvItem::TextAfterQuote { line: 1 }]);
    }

    #[test]
    fn a_quote_open_for_too_many_lines_is_given_up() {
        let mut text = String::from("1,\"open\n");
        for n in 0..(MAX_RECORD_LINES + 5) {
            text.push_str(&format!("{n},x\n"));
        }
        let found = items(&text);
        assert_eq!(found[0], CsvItem::BadQuote { line: 1, until: Some(MAX_RECORD_LINES as u64) });
        assert_eq!(found[1], record(2, &["0", "x"]));
        assert_eq!(found.len(), MAX_RECORD_LINES + 6);
    }

    #[test]
    fn bad_utf8_and_huge_lines_are_reported_and_skipped() {
        let mut bytes = b"a,b\n\xff,1\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', MAX_RECORD_BYTES + 10));
        bytes.extend_from_slice(b"\nlast,1\n");
        let mut records = CsvRecords::new(bytes.as_slice());
        let found: Vec<CsvItem> = std::iter::from_fn(|| records.next_item().unwrap()).collect();
        assert_eq!(
            found,
            vec![
                record(1, &["a", "b"]),
                CsvItem::NotUtf8 { line: 2 },
                CsvItem::TooLong { line: 3 },
                record(4, &["last", "1"]),
            ]
        );
    }
}
