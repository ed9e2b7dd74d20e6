-- A task's item layout (issue 11): how its items are shown to raters, as the JSON of
-- `domain::layout::ItemLayout`. Absent: the default layout.
CREATE TABLE task_layout (
    task_id     BIGINT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
    layout_json TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
