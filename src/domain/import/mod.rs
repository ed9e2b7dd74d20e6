//! Parsing item files (JSONL, CSV, a JSON array) as a stream, one record at a time, with the line
//! of every problem. Nothing here stores anything: the caller gets each checked [`Record`] through a
//! callback, so memory stays flat however large the input.

use std::io::BufRead;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::domain::schema::LabelSchema;

/// The longest line (JSONL), record (CSV) or element (JSON array) accepted.
pub const MAX_LINE: usize = 1 << 20;
/// The most rows one import may hold.
pub const MAX_ROWS: u64 = 2_000_000;
/// The longest external id.
pub const MAX_EXTERNAL_ID: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
    JsonArray,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::JsonArray => "json",
        }
    }

    /// The format a `Content-Type` names.
    pub fn from_content_type(ct: &str) -> Option<Format> {
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/x-ndjson"
            | "application/jsonl"
            | "application/x-jsonlines"
            | "application/jsonlines" => Some(Format::Jsonl),
            "text/csv" => Some(Format::Csv),
            "application/json" => Some(Format::JsonArray),
            _ => None,
        }
    }

    /// The format a file name suggests.
    pub fn from_filename(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            Some(Format::Jsonl)
        } else if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else if lower.ends_with(".json") {
            Some(Format::JsonArray)
        } else {
            None
        }
    }
}

/// One checked item.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The line the record starts on (1-based).
    pub line: u64,
    pub external_id: String,
    pub data: Map<String, Value>,
    /// The gold answer, already checked against the schema.
    pub gold: Option<Value>,
}

/// A problem with the input, and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

impl LineError {
    fn new(line: u64, message: impl Into<String>) -> Self {
        LineError {
            line,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses the whole input, calling `emit` for every record; returns how many there were.
pub fn parse<R: BufRead>(
    format: Format,
    mut input: R,
    schema: &LabelSchema,
    mut emit: impl FnMut(Record) -> Result<(), LineError>,
) -> Result<u64, LineError> {
    check_encoding(&mut input)?;
    match format {
        Format::Jsonl => parse_jsonl(input, schema, &mut emit),
        Format::Csv => parse_csv(input, schema, &mut emit),
        Format::JsonArray => parse_json_array(input, schema, &mut emit),
    }
}

fn io_error(line: u64, e: std::io::Error) -> LineError {
    LineError::new(line, format!("could not read the input: {e}"))
}

/// Refuses UTF-16 and UTF-32 files up front and drops a UTF-8 byte-order mark.
fn check_encoding<R: BufRead>(input: &mut R) -> Result<(), LineError> {
    let head = input.fill_buf().map_err(|e| io_error(1, e))?;
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(LineError::new(
            1,
            "the file must be UTF-8 (this one looks like UTF-16)",
        ));
    }
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        input.consume(3);
    }
    Ok(())
}

fn parse_jsonl<R: BufRead>(
    mut input: R,
    schema: &LabelSchema,
    emit: &mut impl FnMut(Record) -> Result<(), LineError>,
) -> Result<u64, LineError> {
    let mut line_no = 0u64;
    let mut rows = 0u64;
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        line_no += 1;
        // Read at most one byte past the limit, so an endless line costs bounded memory.
        let n = std::io::Read::take(input.by_ref(), MAX_LINE as u64 + 2)
            .read_until(b'\n', &mut buf)
            .map_err(|e| io_error(line_no, e))?;
        if n == 0 {
            break;
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        } else if buf.len() > MAX_LINE {
            return Err(LineError::new(line_no, "the line exceeds 1 MiB"));
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        if buf.len() > MAX_LINE {
            return Err(LineError::new(line_no, "the line exceeds 1 MiB"));
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = std::str::from_utf8(&buf).map_err(|e| {
            LineError::new(
                line_no,
                format!("invalid UTF-8 at byte {}", e.valid_up_to() + 1),
            )
        })?;
        let value: Value = serde_json::from_str(text).map_err(|e| {
            LineError::new(
                line_no,
                format!("column {}: {}", e.column(), strip_position(&e.to_string())),
            )
        })?;
        rows += 1;
        if rows > MAX_ROWS {
            return Err(LineError::new(
                line_no,
                format!("more than {MAX_ROWS} rows; split the file"),
            ));
        }
        emit(record_from_value(line_no, value, schema)?)?;
    }
    Ok(rows)
}

/// serde_json appends " at line L column C"; we report our own line numbers instead.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn parse_csv<R: BufRead>(
    input: R,
    schema: &LabelSchema,
    emit: &mut impl FnMut(Record) -> Result<(), LineError>,
) -> Result<u64, LineError> {
    // csv's own line counter is one short after CRLF endings, so physical lines are counted here.
    let lines = std::rc::Rc::new(std::cell::RefCell::new(LineIndex::default()));
    let tracked = LineTracker {
        inner: input,
        offset: 0,
        index: lines.clone(),
    };
    let mut reader = csv::ReaderBuilder::new()
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
    let mut record = csv::ByteRecord::new();
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
            .unwrap_or_else(csv::Position::new);
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
        emit(record_from_value(line, Value::Object(obj), schema).map_err(|e| where_(e.message))?)?;
    }
    Ok(rows)
}

fn csv_error(e: &csv::Error, fallback_line: u64, line_at: &dyn Fn(u64) -> u64) -> LineError {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
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
        csv::ErrorKind::Utf8 { pos, err } => {
            let line = pos
                .as_ref()
                .map(|p| line_at(p.byte()))
                .unwrap_or(fallback_line);
            LineError::new(line, format!("invalid UTF-8 in field {}", err.field() + 1))
        }
        csv::ErrorKind::Io(io) => {
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

/// Streams the elements of a top-level JSON array, each parsed on its own, so the array is never
/// held whole in memory.
fn parse_json_array<R: BufRead>(
    mut input: R,
    schema: &LabelSchema,
    emit: &mut impl FnMut(Record) -> Result<(), LineError>,
) -> Result<u64, LineError> {
    let mut line = 1u64;
    let mut rows = 0u64;
    let mut elem: Vec<u8> = Vec::new();
    let mut elem_line = 1u64;
    // 0: before '[', 1: expecting an element or ']', 2: inside an element, 3: after an element, 4: done.
    let mut phase = 0u8;
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    loop {
        let chunk = input.fill_buf().map_err(|e| io_error(line, e))?;
        if chunk.is_empty() {
            break;
        }
        let len = chunk.len();
        let chunk = chunk.to_vec();
        input.consume(len);
        for &b in &chunk {
            if phase == 2 {
                // Inside an element: find where it ends without parsing it twice.
                let ends = if in_str {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_str = false;
                    }
                    false
                } else {
                    match b {
                        b'"' => {
                            in_str = true;
                            false
                        }
                        b'{' | b'[' => {
                            depth += 1;
                            false
                        }
                        b'}' | b']' if depth > 0 => {
                            depth -= 1;
                            false
                        }
                        b',' | b']' if depth == 0 => true,
                        _ => false,
                    }
                };
                if ends {
                    finish_element(&elem, elem_line, &mut rows, schema, emit)?;
                    elem.clear();
                    phase = if b == b']' { 4 } else { 1 };
                } else {
                    elem.push(b);
                    if elem.len() > MAX_LINE {
                        return Err(LineError::new(elem_line, "the array element exceeds 1 MiB"));
                    }
                }
                if b == b'\n' {
                    line += 1;
                }
                continue;
            }
            if b == b'\n' {
                line += 1;
            }
            if b.is_ascii_whitespace() {
                continue;
            }
            match (phase, b) {
                (0, b'[') => phase = 1,
                (0, _) => {
                    return Err(LineError::new(
                        line,
                        "a JSON import must be an array of objects",
                    ));
                }
                (1, b']') if rows == 0 => phase = 4,
                (1, _) => {
                    phase = 2;
                    elem_line = line;
                    depth = 0;
                    in_str = false;
                    escaped = false;
                    match b {
                        b'"' => in_str = true,
                        b'{' | b'[' => depth = 1,
                        _ => {}
                    }
                    elem.push(b);
                }
                (4, _) => {
                    return Err(LineError::new(
                        line,
                        "unexpected data after the end of the array",
                    ));
                }
                _ => return Err(LineError::new(line, "malformed JSON array")),
            }
        }
    }
    if phase != 4 {
        return Err(LineError::new(line, "the JSON array is not closed"));
    }
    Ok(rows)
}

fn finish_element(
    elem: &[u8],
    line: u64,
    rows: &mut u64,
    schema: &LabelSchema,
    emit: &mut impl FnMut(Record) -> Result<(), LineError>,
) -> Result<(), LineError> {
    let text = std::str::from_utf8(elem).map_err(|e| {
        LineError::new(
            line,
            format!("invalid UTF-8 at byte {}", e.valid_up_to() + 1),
        )
    })?;
    let value: Value = serde_json::from_str(text.trim())
        .map_err(|e| LineError::new(line, strip_position(&e.to_string())))?;
    *rows += 1;
    if *rows > MAX_ROWS {
        return Err(LineError::new(
            line,
            format!("more than {MAX_ROWS} rows; split the file"),
        ));
    }
    emit(record_from_value(line, value, schema)?)
}

fn is_image_field(name: &str) -> bool {
    matches!(name, "image" | "image_url")
}

fn is_url_field(name: &str) -> bool {
    name == "url" || name == "image" || name.ends_with("_url")
}

/// Turns one parsed JSON value into a checked record (design.md: a line without `data` is the data
/// itself, with `external_id` and `gold` lifted out).
pub fn record_from_value(
    line: u64,
    value: Value,
    schema: &LabelSchema,
) -> Result<Record, LineError> {
    let err = |m: String| LineError::new(line, m);
    let Value::Object(mut obj) = value else {
        return Err(err("expected a JSON object".into()));
    };
    let external = obj.remove("external_id");
    let gold = obj.remove("gold");
    let data = match obj.remove("data") {
        Some(Value::Object(d)) => {
            if let Some(k) = obj.keys().next() {
                return Err(err(format!(
                    "unknown field {k:?} (next to \"data\" only external_id and gold are allowed)"
                )));
            }
            d
        }
        Some(_) => return Err(err("field \"data\" must be an object".into())),
        None => obj,
    };
    check_data(&data).map_err(err)?;
    let external_id = match external {
        None | Some(Value::Null) => derived_id(&data),
        Some(Value::String(s)) => {
            let s = s.trim().to_string();
            if s.is_empty()
                || s.chars().count() > MAX_EXTERNAL_ID
                || s.chars().any(char::is_control)
            {
                return Err(err(format!(
                    "external_id must have 1 to {MAX_EXTERNAL_ID} printable characters"
                )));
            }
            s
        }
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        Some(_) => return Err(err("external_id must be a string or a whole number".into())),
    };
    let gold = match gold {
        None | Some(Value::Null) => None,
        Some(g) => Some(
            schema
                .check_value(&g)
                .map_err(|e| err(format!("gold: {e}")))?,
        ),
    };
    Ok(Record {
        line,
        external_id,
        data,
        gold,
    })
}

fn check_data(data: &Map<String, Value>) -> Result<(), String> {
    if data.is_empty() {
        return Err("the item has no data".into());
    }
    match data.get("text") {
        Some(Value::String(_)) => {}
        Some(other) => {
            return Err(format!(
                "field \"text\" must be a string, not {}",
                type_name(other)
            ));
        }
        None if data.keys().any(|k| is_image_field(k)) => {}
        None => return Err("missing field \"text\" (or \"image_url\")".into()),
    }
    for (k, v) in data {
        if is_url_field(k) {
            let ok = v.as_str().is_some_and(|s| {
                let l = s.trim_start().to_ascii_lowercase();
                (l.starts_with("http://") || l.starts_with("https://"))
                    && !s.chars().any(char::is_control)
            });
            if !ok {
                return Err(format!("field {k:?} must be an http(s) URL"));
            }
        }
        check_strings(k, v)?;
    }
    Ok(())
}

fn check_strings(field: &str, v: &Value) -> Result<(), String> {
    match v {
        Value::String(s) if s.contains('\0') => {
            Err(format!("field {field:?} contains a NUL character"))
        }
        Value::Array(a) => a.iter().try_for_each(|x| check_strings(field, x)),
        Value::Object(o) => o.values().try_for_each(|x| check_strings(field, x)),
        _ => Ok(()),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An external id made from the content, so re-importing the same data is recognised.
fn derived_id(data: &Map<String, Value>) -> String {
    // serde_json's Map keeps keys sorted, so the serialisation is canonical.
    let bytes = serde_json::to_vec(data).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    format!("sha256:{}", &hex::encode(digest)[..32])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> LabelSchema {
        LabelSchema::parse(&json!({"kind": "single_choice", "options": [
            {"value": "pos", "label": "P"}, {"value": "neg", "label": "N"}]}))
        .unwrap()
    }

    fn run(format: Format, input: &[u8]) -> Result<Vec<Record>, LineError> {
        let mut out = Vec::new();
        parse(format, input, &schema(), |r| {
            out.push(r);
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn jsonl_both_shapes_and_blank_lines() {
        let input = b"{\"external_id\": \"a1\", \"data\": {\"text\": \"hi\"}, \"gold\": \"pos\"}\n\n{\"text\": \"yo\", \"lang\": \"en\", \"external_id\": 7}\r\n{\"text\": \"no id\"}";
        let r = run(Format::Jsonl, input).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].external_id, "a1");
        assert_eq!(r[0].gold, Some(json!("pos")));
        assert_eq!(r[1].line, 3);
        assert_eq!(r[1].external_id, "7");
        assert_eq!(r[1].data.get("lang"), Some(&json!("en")));
        assert!(r[2].external_id.starts_with("sha256:"));
    }

    #[test]
    fn jsonl_bad_lines_name_their_line() {
        let cases: Vec<(Vec<u8>, u64, &str)> = vec![
            (b"{\"text\":\"a\"}\n{\"text\": \"a\"".to_vec(), 2, "EOF"),
            (
                b"{\"text\":\"a\"}\n{\"txt\": \"a\"}".to_vec(),
                2,
                "missing field",
            ),
            (b"{\"text\": 5}".to_vec(), 1, "must be a string"),
            (
                b"{\"text\": \"a\", \"image_url\": \"javascript:alert(1)\"}".to_vec(),
                1,
                "http(s) URL",
            ),
            (
                b"{\"text\": \"a\", \"gold\": \"maybe\"}".to_vec(),
                1,
                "gold",
            ),
            (b"{\"text\": \"a\\u0000b\"}".to_vec(), 1, "NUL"),
            (b"{\"text\": \"\\ud800\"}".to_vec(), 1, "escape"),
            (b"[1,2]".to_vec(), 1, "object"),
            (
                b"{\"text\":\"a\"}\n{\"text\": \"\xff\"}".to_vec(),
                2,
                "UTF-8",
            ),
            (b"\xff\xfe{\x00".to_vec(), 1, "UTF-16"),
            (
                b"{\"data\": {\"text\": \"a\"}, \"role\": \"admin\"}".to_vec(),
                1,
                "unknown field",
            ),
        ];
        for (input, line, needle) in cases {
            let e = run(Format::Jsonl, &input).unwrap_err();
            assert_eq!(e.line, line, "{e}");
            assert!(e.message.contains(needle), "{e} should mention {needle}");
        }
    }

    #[test]
    fn overlong_and_deep_lines_fail_cleanly() {
        let mut big = b"{\"text\": \"".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_LINE));
        big.extend(b"\"}\n");
        let e = run(Format::Jsonl, &big).unwrap_err();
        assert!(e.message.contains("exceeds 1 MiB"), "{e}");
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let e = run(Format::Jsonl, deep.as_bytes()).unwrap_err();
        assert!(e.message.contains("recursion"), "{e}");
    }

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

    #[test]
    fn json_array_streams_elements_with_lines() {
        let input = b"[\n {\"text\": \"a, [b]\"},\n {\"data\": {\"text\": \"c\\\"}\"}, \"external_id\": \"z\"}\n]\n";
        let r = run(Format::JsonArray, input).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].line, 2);
        assert_eq!(r[1].external_id, "z");
        assert_eq!(r[1].line, 3);
        assert_eq!(run(Format::JsonArray, b"[]").unwrap().len(), 0);
        let e = run(
            Format::JsonArray,
            b"[\n{\"text\": \"a\"},\n{\"text\": 1}\n]",
        )
        .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(run(Format::JsonArray, b"[{\"text\": \"a\"}").is_err());
        assert!(run(Format::JsonArray, b"{\"text\": \"a\"}").is_err());
        assert!(run(Format::JsonArray, b"[{\"text\": \"a\"}] x").is_err());
    }
}
