//! Why a task's raters cannot label, or why its items do not finish: the task page and the
//! progress API say it in the same words, from counts the service reads.

use serde::Serialize;

use crate::domain::states::TaskState;

/// What the rules look at.
#[derive(Clone, Copy, Debug, Default)]
pub struct Facts {
    pub state: Option<TaskState>,
    /// Items in the task.
    pub items: i64,
    /// Items that still need labels.
    pub open_items: i64,
    /// Labels per item (k) and the most an item may ask for before review.
    pub overlap: i64,
    pub max_overlap: i64,
    /// Active raters on the task, and how many of them acknowledged the current instructions.
    pub raters: i64,
    pub raters_acknowledged: i64,
    pub instructions_version: i64,
    /// Open items that want more labels than there are raters on the task.
    pub short_of_raters: i64,
}

/// One thing that keeps raters from labeling or items from being decided.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Blocker {
    /// `draft`, `paused`, `archived`, `no_items`, `no_raters`, `not_enough_raters`,
    /// `instructions_not_acknowledged` or `fewer_raters_than_max_overlap`.
    pub code: &'static str,
    /// What it means and what to do, in one or two sentences.
    pub message: String,
    /// `blocking` when nobody can label or items can never be decided; `warning` otherwise.
    pub severity: &'static str,
}

fn blocking(code: &'static str, message: String) -> Blocker {
    Blocker {
        code,
        message,
        severity: "blocking",
    }
}

fn warning(code: &'static str, message: String) -> Blocker {
    Blocker {
        code,
        message,
        severity: "warning",
    }
}

fn raters(n: i64) -> String {
    if n == 1 {
        "1 rater".into()
    } else {
        format!("{n} raters")
    }
}

/// Everything that stops the work, worst first. Empty when raters can label and every open item
/// can be decided.
pub fn blockers(f: &Facts) -> Vec<Blocker> {
    let mut out = Vec::new();
    match f.state {
        Some(TaskState::Draft) => out.push(blocking(
            "draft",
            "The task is a draft: raters cannot see it. Activate it when its items and instructions are ready.".into(),
        )),
        Some(TaskState::Paused) => out.push(blocking(
            "paused",
            "The task is paused: raters see it but get no new shards. Activate it to go on.".into(),
        )),
        Some(TaskState::Archived) => out.push(blocking(
            "archived",
            "The task is archived: raters no longer see it.".into(),
        )),
        _ => {}
    }
    if f.items == 0 {
        out.push(blocking(
            "no_items",
            "There are no items yet: import a JSONL, CSV or JSON file.".into(),
        ));
    }
    if f.raters == 0 {
        out.push(blocking(
            "no_raters",
            "No rater is on the task: add raters by username, or make an invite link for this task.".into(),
        ));
    } else if f.raters < f.overlap && f.open_items > 0 {
        out.push(blocking(
            "not_enough_raters",
            format!(
                "Overlap k = {} needs {} different raters per item, but {} on the task: items can get at most {} labels and are never decided. Add {} or lower k.",
                f.overlap,
                f.overlap,
                if f.raters == 1 { "only 1 is".to_string() } else { format!("only {} are", f.raters) },
                f.raters,
                raters(f.overlap - f.raters),
            ),
        ));
    } else if f.short_of_raters > 0 {
        out.push(blocking(
            "not_enough_raters",
            format!(
                "{} open items ask for more labels than the {} on the task can give (raters disagreed, so the item asked for more, up to {}). Add raters, or lower max overlap so they go to review.",
                f.short_of_raters,
                raters(f.raters),
                f.max_overlap,
            ),
        ));
    } else if f.raters < f.max_overlap && f.open_items > 0 {
        out.push(warning(
            "fewer_raters_than_max_overlap",
            format!(
                "Items the raters disagree on ask for up to {} labels, but {} on the task: such items will wait instead of going to review. Add raters or lower max overlap to {}.",
                f.max_overlap,
                if f.raters == 1 { "only 1 rater is".to_string() } else { format!("only {} raters are", f.raters) },
                f.raters.max(f.overlap),
            ),
        ));
    }
    if f.raters > 0 && f.raters_acknowledged < f.raters && f.open_items > 0 {
        let missing = f.raters - f.raters_acknowledged;
        out.push(warning(
            "instructions_not_acknowledged",
            format!(
                "{} of {} have not acknowledged instructions v{} yet; each is asked to before their first shard.",
                missing,
                raters(f.raters),
                f.instructions_version,
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> Facts {
        Facts {
            state: Some(TaskState::Active),
            items: 100,
            open_items: 100,
            overlap: 3,
            max_overlap: 5,
            raters: 5,
            raters_acknowledged: 5,
            instructions_version: 1,
            short_of_raters: 0,
        }
    }

    fn codes(f: &Facts) -> Vec<&'static str> {
        blockers(f).iter().map(|b| b.code).collect()
    }

    #[test]
    fn a_ready_task_has_no_blockers() {
        assert!(blockers(&ready()).is_empty());
    }

    #[test]
    fn a_new_draft_task_names_every_missing_piece() {
        let f = Facts {
            state: Some(TaskState::Draft),
            items: 0,
            open_items: 0,
            raters: 0,
            raters_acknowledged: 0,
            ..ready()
        };
        assert_eq!(codes(&f), ["draft", "no_items", "no_raters"]);
    }

    #[test]
    fn two_raters_for_overlap_three_never_finish() {
        let f = Facts {
            raters: 2,
            raters_acknowledged: 2,
            ..ready()
        };
        let b = blockers(&f);
        assert_eq!(b[0].code, "not_enough_raters");
        assert_eq!(b[0].severity, "blocking");
        assert!(b[0].message.contains("Overlap k = 3"), "{}", b[0].message);
        assert!(b[0].message.contains("only 2 are"), "{}", b[0].message);
        assert!(b[0].message.contains("Add 1 rater"), "{}", b[0].message);
    }

    #[test]
    fn items_that_grew_past_the_pool_are_counted() {
        let f = Facts {
            raters: 3,
            raters_acknowledged: 3,
            short_of_raters: 7,
            ..ready()
        };
        let b = blockers(&f);
        assert_eq!(b[0].code, "not_enough_raters");
        assert!(b[0].message.starts_with("7 open items"), "{}", b[0].message);
    }

    #[test]
    fn fewer_raters_than_max_overlap_is_a_warning() {
        let f = Facts {
            raters: 4,
            raters_acknowledged: 3,
            ..ready()
        };
        assert_eq!(
            codes(&f),
            [
                "fewer_raters_than_max_overlap",
                "instructions_not_acknowledged"
            ]
        );
        assert!(blockers(&f).iter().all(|b| b.severity == "warning"));
    }

    #[test]
    fn a_finished_task_needs_nobody() {
        let f = Facts {
            open_items: 0,
            raters: 1,
            raters_acknowledged: 0,
            ..ready()
        };
        assert!(blockers(&f).is_empty());
    }
}
