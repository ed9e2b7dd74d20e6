//! The JSON-array parser: streams the elements of one top-level array, each parsed on its own, so
//! the array is never held whole in memory.

use std::io::BufRead;

use serde_json::Value;

use super::Fit;
use super::{LineError, MAX_LINE, MAX_ROWS, Record, io_error, record_from_value, strip_position};

/// Streams the elements of a top-level JSON array, each parsed on its own, so the array is never
/// held whole in memory.
pub(super) fn parse_json_array<R: BufRead>(
    mut input: R,
    fit: Fit<'_>,
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
                    finish_element(&elem, elem_line, &mut rows, fit, emit)?;
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
    fit: Fit<'_>,
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
    emit(record_from_value(line, value, fit)?)
}

#[cfg(test)]
mod tests {
    use crate::domain::import::Format;
    use crate::domain::import::test_support::run;

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
