//! A task's item layout (issue 11): which fields of an item are shown as text, which one as an
//! image, which as side information, which are hidden from raters, and the headings of a pair's
//! prompt and candidates. The rules are in `domain::layout`; this feature stores the setting,
//! audits it, and gives it to the pages that show items (labeling, review, the data browser),
//! leaving hidden fields out of everything raters are sent.

pub mod api;
pub mod codes;
pub mod pages;
pub mod service;

pub fn routes() -> crate::app::Routes {
    crate::app::Routes::new()
        .post("/admin/tasks/{id}/layout", pages::save)
        .get("/api/v1/tasks/{id}/layout", api::get_layout)
        .put("/api/v1/tasks/{id}/layout", api::put_layout)
}
