-- PostgreSQL twin of migrations/sqlite/20261208090000_layout.sql.
-- A task's item layout (issue 11): how its items are shown to raters, as the JSON of
-- `domain::layout::ItemLayout`. Absent: the default layout.
CREATE TABLE task_layout (
    task_id     BIGINT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
    layout_json TEXT COLLATE "C" NOT NULL,
    updated_at  BIGINT NOT NULL
);
