//! The CSV parser: a header row naming the fields, quoted fields that may span lines, and errors
//! that name the physical line (counted here, since the `csv` crate's counter is off after CRLF).

use std::io::BufRead;

use serde_json::{Map, Value};

use super::Fit;
use super::record::is_image_field;
use super::{LineError, MAX_LINE, MAX_ROWS, Record, record_from_value};

pub(super) fn parse_csv<R: BufRead>(
    input: R,
    fit: Fit<'_>,
    emit: &mut impl FnMut(Record) -> Result<(), LineError>,
) -> Result<u64, LineError> {
    // csv's own line counter is one short after CRLF endings, so physical lines are counted here.
    let lines = std::rc::Rc::new(std::cell::RefCell::new(LineIndex::default()));
    let tracked = LineTracker {
        inner: input,
        offset: 0,
        index: lines.clone(),
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(tracked);
    let line_at = |byte: u64| lines.borrow_mut().line_at(byte);
    let headers = reader
        .byte_headers()
        .map_err(|e| csv_error(&e, 1, &line_at))?
        .iter()
        .map(|h| std::str::from_utf8(h).map(|s| s.trim().to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| LineError::new(1, "the header row is not valid UTF-8"))?;
    if headers.is_empty() || headers.iter().all(String::is_empty) {
        return Err(LineError::new(1, "the file has no header row"));
    }
    for (i, h) in headers.iter().enumerate() {
        if h.is_empty() {
            return Err(LineError::new(
                1,
                format!("column {} of the header has no name", i + 1),
            ));
        }
        if headers[..i].contains(h) {
            return Err(LineError::new(
                1,
                format!("the column {h:?} appears twice in the header"),
            ));
        }
    }
    if !headers.iter().any(|h| h == "text" || is_image_field(h)) {
        return Err(LineError::new(
            1,
            "the header has no \"text\" column (or image_url)",
        ));
    }
    let mut record = ::csv::ByteRecord::new();
    let mut rows = 0u64;
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| csv_error(&e, 0, &line_at))?;
        if !more {
            break;
        }
        let pos = record
            .position()
            .cloned()
            .unwrap_or_else(::csv::Position::new);
        let line = line_at(pos.byte());
        // The record count includes the header: data record 1 is CSV record 2.
        let where_ = |m: String| LineError::new(line, format!("(record {}) {m}", pos.record()));
        if record.as_slice().len() > MAX_LINE {
            return Err(where_("the record exceeds 1 MiB".into()));
        }
        rows += 1;
        if rows > MAX_ROWS {
            return Err(where_(format!("more than {MAX_ROWS} rows; split the file")));
        }
        let mut obj = Map::new();
        for (h, field) in headers.iter().zip(record.iter()) {
            let s = std::str::from_utf8(field).map_err(|e| {
                where_(format!(
                    "column {h:?}: invalid UTF-8 at byte {}",
                    e.valid_up_to() + 1
                ))
            })?;
            if (h == "gold" || h == "external_id") && s.trim().is_empty() {
                continue;
            }
            let v = if h == "gold" && s.trim_start().starts_with('[') {
                serde_json::from_str(s).map_err(|e| where_(format!("gold: {e}")))?
            } else {
                Value::String(s.to_string())
            };
            obj.insert(h.clone(), v);
        }
        emit(record_from_value(line, Value::Object(obj), fit).map_err(|e| where_(e.message))?)?;
    }
    Ok(rows)
}

fn csv_error(e: &::csv::Error, fallback_line: u64, line_at: &dyn Fn(u64) -> u64) -> LineError {
    match e.kind() {
        ::csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => {
            let (line, rec) = pos
                .as_ref()
                .map(|p| (line_at(p.byte()), p.record()))
                .unwrap_or((fallback_line, 0));
            LineError::new(
                line,
                format!("(record {rec}) has {len} fields, the header has {expected_len}"),
            )
        }
        ::csv::ErrorKind::Utf8 { pos, err } => {
            let line = pos
                .as_ref()
                .map(|p| line_at(p.byte()))
                .unwrap_or(fallback_line);
            LineError::new(line, format!("invalid UTF-8 in field {}", err.field() + 1))
        }
        ::csv::ErrorKind::Io(io) => {
            LineError::new(fallback_line, format!("could not read the input: {io}"))
        }
        _ => LineError::new(fallback_line, format!("malformed CSV: {e}")),
    }
}

/// Newline offsets seen by the CSV reader and not yet passed, so a record's start byte can be
/// turned into its physical line in bounded memory (the reader is at most one buffer ahead).
#[derive(Default)]
struct LineIndex {
    pending: std::collections::VecDeque<u64>,
    passed: u64,
}

impl LineIndex {
    /// The physical line of a record that starts at `byte`.
    fn line_at(&mut self, byte: u64) -> u64 {
        while self.pending.front().is_some_and(|&o| o < byte) {
            self.pending.pop_front();
            self.passed += 1;
        }
        // A record that "starts" on the LF of a CRLF really starts on the next line.
        let on_newline = self.pending.front() == Some(&byte);
        self.passed + 1 + u64::from(on_newline)
    }
}

struct LineTracker<R> {
    inner: R,
    offset: u64,
    index: std::rc::Rc<std::cell::RefCell<LineIndex>>,
}

impl<R: std::io::Read> std::io::Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut index = self.index.borrow_mut();
        for (i, b) in buf[..n].iter().enumerate() {
            if *b == b'\n' {
                index.pending.push_back(self.offset + i as u64);
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::domain::import::Format;
    use crate::domain::import::test_support::run;

    #[test]
    fn csv_with_bom_crlf_quotes_and_errors() {
        let ok = "\u{feff}external_id,text,gold\r\nx1,\"hello\r\nworld\",pos\r\nx2,plain,\r\n";
        let r = run(Format::Csv, ok.as_bytes()).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].data["text"], json!("hello\r\nworld"));
        assert_eq!(r[1].gold, None);

        let mut lines = vec!["text,lang".to_string()];
        for i in 2..=39 {
            if i == 10 {
                lines.push("\"multi\nline\nfield\",en".into());
            } else if i == 11 || i == 12 {
                continue;
            } else {
                lines.push(format!("row {i},en"));
            }
        }
        lines.push("short".into());
        let e = run(Format::Csv, lines.join("\n").as_bytes()).unwrap_err();
        assert_eq!(e.line, 40, "{e}");
        assert!(
            e.message.contains("record 37") || e.message.contains("record 38"),
            "{e}"
        );

        assert!(
            run(Format::Csv, b"lang\nen\n")
                .unwrap_err()
                .message
                .contains("text")
        );
        assert!(
            run(Format::Csv, b"text,text\na,b\n")
                .unwrap_err()
                .message
                .contains("twice")
        );
    }
}
