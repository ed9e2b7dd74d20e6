//! CSV input: [`Answers::from_csv_reader`] for `item,worker,label` answers,
//! [`Answers::read_gold_csv`] for `item,label` gold, the line splitter and header handling they
//! share, and the [`ParseError`] they report.

use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;

use super::Answers;

/// A CSV input could not be read. `line` is 1-based and counts physical lines, header included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The 1-based line where the problem was found.
    pub line: usize,
    /// What is wrong, in words meant for the person who supplied the file.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

impl Answers {
    /// Reads `item,worker,label` CSV (header required, columns in any order, extra columns
    /// ignored).
    ///
    /// Quoting follows RFC 4180 within one line (`"a,b"`, `"say ""hi"""`); a quoted field spanning
    /// lines is rejected. Unquoted fields are trimmed, blank lines skipped, a UTF-8 BOM and CRLF
    /// line ends accepted. Every error names its line.
    pub fn from_csv_reader<R: BufRead>(r: R) -> Result<Self, ParseError> {
        let mut answers = Answers::new();
        read_csv(r, &["item", "worker", "label"], |line, f| {
            answers.push(f[0], f[1], f[2]).map_err(|e| ParseError {
                line,
                message: e.to_string(),
            })
        })?;
        Ok(answers)
    }

    /// Reads gold / truth answers as `item,label` CSV (same dialect as
    /// [`Answers::from_csv_reader`]).
    ///
    /// Rows for items without answers are skipped: there is nothing to resolve for them. A gold
    /// label nobody chose is registered as a class. An item listed twice with different labels is
    /// an error.
    pub fn read_gold_csv<R: BufRead>(&mut self, r: R) -> Result<HashMap<u32, u32>, ParseError> {
        let mut gold = HashMap::new();
        // Truth files usually list items in the answers' order: guess the next one.
        let mut next = 0u32;
        read_csv(r, &["item", "label"], |line, f| {
            let Some(item) = self.item_index_near(f[0], next) else {
                return Ok(());
            };
            next = item.wrapping_add(1);
            let class = self.add_class(f[1]).map_err(|e| ParseError {
                line,
                message: e.to_string(),
            })?;
            match gold.insert(item, class) {
                Some(previous) if previous != class => Err(ParseError {
                    line,
                    message: format!("item {:?} already has a different gold label", f[0]),
                }),
                _ => Ok(()),
            }
        })?;
        Ok(gold)
    }
}

/// Where one field of a line is: a range of the line itself (unquoted fields, the common case,
/// are never copied), or of the buffer that quoted fields are unescaped into.
#[derive(Clone, Copy)]
enum Span {
    Line(usize, usize),
    Buf(usize, usize),
}

/// Splits one CSV line into fields (RFC 4180 quoting, single line), addressed by `spans`; quoted
/// fields are written unescaped into `buf`. A million-line file allocates nothing per line. Works
/// on bytes: every delimiter (`,`, `"`, blank) is ASCII, so each slice taken between them falls on
/// a character boundary.
fn split_record(line: &str, buf: &mut String, spans: &mut Vec<Span>) -> Result<(), &'static str> {
    buf.clear();
    spans.clear();
    let bytes = line.as_bytes();
    let mut pos = 0;
    loop {
        // Skip leading blanks; an unquoted field is trimmed anyway and a quoted one may be
        // indented.
        while matches!(bytes.get(pos), Some(b' ' | b'\t')) {
            pos += 1;
        }
        if bytes.get(pos) == Some(&b'"') {
            pos += 1;
            let start = buf.len();
            loop {
                let Some(quote) = line.get(pos..).and_then(|rest| rest.find('"')) else {
                    return Err(
                        "unterminated quoted field (fields spanning lines are not supported)",
                    );
                };
                if buf.len() == start && bytes.get(pos + quote + 1) != Some(&b'"') {
                    // No escaped quote inside: the field is a plain slice of the line.
                    spans.push(Span::Line(pos, pos + quote));
                    pos += quote + 1;
                    break;
                }
                buf.push_str(line.get(pos..pos + quote).unwrap_or_default());
                pos += quote + 1;
                if bytes.get(pos) == Some(&b'"') {
                    buf.push('"');
                    pos += 1;
                } else {
                    spans.push(Span::Buf(start, buf.len()));
                    break;
                }
            }
            while matches!(bytes.get(pos), Some(b' ' | b'\t')) {
                pos += 1;
            }
            match bytes.get(pos) {
                None => return Ok(()),
                Some(b',') => {
                    pos += 1;
                    continue;
                }
                Some(_) => return Err("unexpected character after a closing quote"),
            }
        }
        let rest = line.get(pos..).unwrap_or_default();
        let (field, next) = match rest.find(',') {
            Some(comma) => (&rest[..comma], Some(pos + comma + 1)),
            None => (rest, None),
        };
        spans.push(Span::Line(
            pos,
            pos + field.trim_end_matches([' ', '\t']).len(),
        ));
        match next {
            Some(next) => pos = next,
            None => return Ok(()),
        }
    }
}

/// The most columns a reader requires (`item,worker,label`).
const MAX_REQUIRED: usize = 3;

/// Reads a headed CSV whose header must contain `required` columns (case-insensitive, any order)
/// and calls `row` with those columns' values, in `required` order, for every data line.
fn read_csv<R: BufRead>(
    mut r: R,
    required: &[&str],
    mut row: impl FnMut(usize, &[&str]) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let mut line = String::new();
    let mut buf = String::new();
    let mut spans = Vec::new();
    // Once the header is read: (position of each required column, number of fields per line).
    let mut columns: Option<(Vec<usize>, usize)> = None;
    let mut line_no = 0usize;
    loop {
        line.clear();
        line_no += 1;
        let read = r.read_line(&mut line).map_err(|e| ParseError {
            line: line_no,
            message: if e.kind() == std::io::ErrorKind::InvalidData {
                "the file is not valid UTF-8".to_owned()
            } else {
                format!("read error: {e}")
            },
        })?;
        if read == 0 {
            break;
        }
        let mut text = line.trim_end_matches(['\n', '\r']);
        if line_no == 1 {
            text = text.strip_prefix('\u{feff}').unwrap_or(text);
        }
        if text.trim().is_empty() {
            continue;
        }
        split_record(text, &mut buf, &mut spans).map_err(|m| ParseError {
            line: line_no,
            message: m.to_owned(),
        })?;
        let field = |i: usize| -> &str {
            match spans[i] {
                Span::Line(start, end) => text.get(start..end).unwrap_or_default(),
                Span::Buf(start, end) => buf.get(start..end).unwrap_or_default(),
            }
        };
        match &columns {
            None => {
                let names: Vec<String> = (0..spans.len())
                    .map(|i| field(i).to_ascii_lowercase())
                    .collect();
                let mut positions = Vec::with_capacity(required.len());
                for want in required {
                    let mut found = names
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| n.as_str() == *want);
                    match (found.next(), found.next()) {
                        (Some((pos, _)), None) => positions.push(pos),
                        (Some(_), Some(_)) => {
                            return Err(ParseError {
                                line: line_no,
                                message: format!("header has column {want:?} twice"),
                            });
                        }
                        (None, _) => {
                            return Err(ParseError {
                                line: line_no,
                                message: format!(
                                    "header must name the columns {}; column {want:?} is missing",
                                    required.join(",")
                                ),
                            });
                        }
                    }
                }
                columns = Some((positions, spans.len()));
            }
            Some((positions, count)) => {
                if spans.len() != *count {
                    return Err(ParseError {
                        line: line_no,
                        message: format!(
                            "expected {count} fields as in the header, found {}",
                            spans.len()
                        ),
                    });
                }
                // A fixed array rather than a Vec: no allocation per line.
                let mut values = [""; MAX_REQUIRED];
                for (slot, (want, &pos)) in values.iter_mut().zip(required.iter().zip(positions)) {
                    let v = field(pos);
                    if v.is_empty() {
                        return Err(ParseError {
                            line: line_no,
                            message: format!("empty {want}"),
                        });
                    }
                    *slot = v;
                }
                row(line_no, &values[..required.len().min(MAX_REQUIRED)])?;
            }
        }
    }
    if columns.is_none() {
        return Err(ParseError {
            line: line_no.max(1),
            message: format!("empty input: expected a header {}", required.join(",")),
        });
    }
    Ok(())
}
