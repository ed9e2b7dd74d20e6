//! The audit log as admins read it: newest first, a page at a time.

use crate::db::{self, audit::AuditEntry};
use crate::error::Result;
use crate::state::AppState;

/// How many entries the audit page shows at once.
pub const PAGE: i64 = 100;

/// Up to [`PAGE`] entries older than the entry `before` (or the newest), and the id to continue
/// before when there may be more.
#[tracing::instrument(skip_all)]
pub async fn recent(
    state: &AppState,
    before: Option<i64>,
) -> Result<(Vec<AuditEntry>, Option<i64>)> {
    let rows = db::audit::list(&state.db.pool, before, PAGE).await?;
    let older = if rows.len() as i64 == PAGE {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok((rows, older))
}

/// One line of an entry's detail as the audit page shows it: `field: before → after` for a
/// change, `field: value` otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct DetailLine {
    pub field: String,
    pub text: String,
}

/// The longest value shown in full on the page; longer ones are cut with an ellipsis.
const SHOWN_CHARS: usize = 160;

fn shown(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "–".into(),
        serde_json::Value::Array(a) if a.iter().all(|x| x.is_string()) => a
            .iter()
            .filter_map(|x| x.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    if s.chars().count() > SHOWN_CHARS {
        let mut t: String = s.chars().take(SHOWN_CHARS).collect();
        t.push('…');
        t
    } else {
        s
    }
}

/// An entry's JSON detail as lines people read. Text that is not a JSON object is one line.
pub fn detail_lines(detail: &str) -> Vec<DetailLine> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(detail)
    else {
        return if detail.is_empty() {
            Vec::new()
        } else {
            vec![DetailLine {
                field: String::new(),
                text: shown(&serde_json::Value::String(detail.into())),
            }]
        };
    };
    let mut out = Vec::new();
    for (k, v) in &map {
        match (k.as_str(), v) {
            ("changes", serde_json::Value::Object(changes)) => {
                for (field, c) in changes {
                    let (from, to) = (&c["from"], &c["to"]);
                    out.push(DetailLine {
                        field: field.clone(),
                        text: format!("{} → {}", shown(from), shown(to)),
                    });
                }
            }
            _ => out.push(DetailLine {
                field: k.clone(),
                text: shown(v),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_before_to_after() {
        let lines = detail_lines(
            r#"{"changes": {"state": {"from": "draft", "to": "active"}, "options": {"from": ["A (a)"], "to": ["A (a)", "B (b)"]}}}"#,
        );
        // Fields come in name order.
        assert_eq!(lines[0].field, "options");
        assert_eq!(lines[0].text, "A (a) → A (a), B (b)");
        assert_eq!(lines[1].field, "state");
        assert_eq!(lines[1].text, "draft → active");
        let plain = detail_lines(r#"{"from": "rater", "to": "admin", "user": 3}"#);
        assert_eq!(plain.len(), 3);
        assert_eq!(plain[2].text, "3");
        let long = detail_lines(&format!(r#"{{"x": "{}"}}"#, "y".repeat(500)));
        assert!(long[0].text.ends_with('…') && long[0].text.chars().count() == SHOWN_CHARS + 1);
        assert!(detail_lines("").is_empty());
    }
}
