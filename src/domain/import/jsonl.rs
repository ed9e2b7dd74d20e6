//! The JSONL parser: one JSON object per line, blank lines skipped, CRLF accepted, every line held
//! to [`MAX_LINE`].

use std::io::BufRead;

use serde_json::Value;

use super::Fit;
use super::{LineError, MAX_LINE, MAX_ROWS, Record, io_error, record_from_value, strip_position};

pub(super) fn parse_jsonl<R: BufRead>(
    mut input: R,
    fit: Fit<'_>,
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
        emit(record_from_value(line_no, value, fit)?)?;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::domain::import::test_support::run;
    use crate::domain::import::{Format, MAX_LINE};

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
}
