//! The HTML pages of people. Each handler parses the form or query, calls one service function
//! and renders its template (or redirects); errors a form can show are drawn into the form.

pub mod account;
pub mod admin;
pub mod mfa;
pub mod tokens;
