//! A small W3C WebDriver client for browser tests in headless Chromium.
//!
//! One `chromedriver` serves the whole test binary: it starts on first use on a free port, and a
//! watchdog shell ends it within a second of this process exiting (however it exits), so no
//! driver or browser outlives the tests and no pipe keeps CI waiting. Every [`Browser`] is a fresh
//! WebDriver session with its own temporary profile; it ends when dropped.
//!
//! Writing a browser test:
//!
//! ```ignore
//! #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
//! async fn my_page_works() {
//!     let app = TestApp::spawn().await;
//!     let b = Browser::new().await;
//!     b.login(&app, "admin", ADMIN_PASSWORD).await;
//!     b.goto(&app.url("/somewhere")).await;
//!     b.type_into("input[name=q]", "hello").await;
//!     b.press_keys(keys::ENTER).await;
//!     assert_eq!(b.text("h1").await, "Results");
//!     b.screenshot("somewhere").await; // /tmp/quorum-shots/somewhere.png
//!     b.assert_no_console_errors().await;
//! }
//! ```
//!
//! Use the multi-threaded runtime: the server under test runs on the same runtime and must keep
//! answering the browser while the test waits for the driver.
//!
//! `driver.rs` starts the shared chromedriver, `browser.rs` holds [`Browser`] with its commands
//! and waits, `element.rs` an [`Element`] of the page; this file the constants, [`keys`] and the
//! WebDriver error type.

// Helpers here serve browser tests yet to be written.
#![allow(dead_code)]

mod browser;
mod driver;
mod element;

pub use browser::Browser;
// Reachable here as before the split, though no test names the type yet.
#[allow(unused_imports)]
pub use element::Element;

use std::time::Duration;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Where [`Browser::screenshot`] saves its PNG files.
pub const SHOTS_DIR: &str = "/tmp/quorum-shots";
/// How long the `find`/`wait_*` helpers wait for the page before failing.
pub const WAIT: Duration = Duration::from_secs(10);

/// The W3C name of an element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Special keys for [`Browser::press_keys`] and [`Element::send_keys`] (WebDriver code points).
pub mod keys {
    pub const BACKSPACE: &str = "\u{E003}";
    pub const TAB: &str = "\u{E004}";
    pub const ENTER: &str = "\u{E007}";
    pub const SHIFT: &str = "\u{E008}";
    pub const CONTROL: &str = "\u{E009}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const RIGHT: &str = "\u{E014}";
    pub const SPACE: &str = "\u{E00D}";
    pub const LEFT: &str = "\u{E012}";
    pub const UP: &str = "\u{E013}";
    pub const DOWN: &str = "\u{E015}";
}

/// A WebDriver error answer.
#[derive(Debug)]
pub struct WdError {
    pub error: String,
    pub message: String,
}

/// Errors that mean "the page is changing under us, look again": the element was replaced by a
/// reload or a re-render, is not there yet, or is covered or not yet interactable for a moment.
/// Waiting helpers retry these until their deadline instead of failing.
pub fn is_transient(e: &WdError) -> bool {
    matches!(
        e.error.as_str(),
        "stale element reference"
            | "no such element"
            | "element click intercepted"
            | "element not interactable"
    ) || (e.error == "unknown error"
        // ChromeDriver's word for an element of the page a navigation just replaced.
        && e.message.contains("does not belong to the document"))
}
