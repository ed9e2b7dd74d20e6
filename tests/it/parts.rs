//! System parts that some tests need beyond Rust: Chromium with its driver (browser tests),
//! pyarrow (reading Parquet exports back with a reader that is not ours) and schemathesis
//! (fuzzing the API against its OpenAPI document).
//!
//! On a machine that lacks one, the tests that need it say so once, with the command that
//! installs it, and skip that part; everything else still runs, so `cargo test` passes on a fresh
//! machine with only Rust. With `CI` set (as `.ci/run` runs) a missing part is a failure instead,
//! so CI always runs everything.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::webdriver::{CHROMEDRIVER, CHROMIUM};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// `/usr/bin/chromium` and `/usr/bin/chromedriver`.
    Chromium,
    /// `python3` with the `pyarrow` module.
    Pyarrow,
    /// The `st` command of schemathesis (PyPI), which fuzzes the API from its OpenAPI document.
    Schemathesis,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Chromium => "Chromium with chromium-driver",
            Part::Pyarrow => "python3 with pyarrow",
            Part::Schemathesis => "schemathesis (the `st` command)",
        }
    }

    fn install(self) -> &'static str {
        match self {
            Part::Chromium => "apt-get install -y chromium chromium-driver",
            Part::Pyarrow => "python3 -m pip install pyarrow",
            Part::Schemathesis => "python3 -m pip install schemathesis",
        }
    }

    fn present(self) -> bool {
        static PYARROW: OnceLock<bool> = OnceLock::new();
        match self {
            Part::Chromium => Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
            Part::Pyarrow => *PYARROW.get_or_init(|| {
                Command::new("python3")
                    .args(["-c", "import pyarrow"])
                    .output()
                    .is_ok_and(|o| o.status.success())
            }),
            Part::Schemathesis => Command::new("st")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success()),
        }
    }
}

/// Whether `CI` is set to something other than empty, `0` or `false`.
pub fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// True when `part` is here. When it is not: fails the test on CI; elsewhere writes, once per
/// part, what is not run and how to install it (straight to stderr, past the test harness's
/// output capture, so it shows in a passing run) and returns false for the caller to skip.
pub fn have(part: Part, what: &str) -> bool {
    if part.present() {
        return true;
    }
    assert!(
        !on_ci(),
        "{} is missing and CI is set, so {what} must run: install it with `{}` (.ci/run does)",
        part.name(),
        part.install()
    );
    static SAID: Mutex<Option<HashSet<Part>>> = Mutex::new(None);
    let first = SAID
        .lock()
        .map(|mut said| said.get_or_insert_with(HashSet::new).insert(part))
        .unwrap_or(false);
    if first {
        let _ = writeln!(
            std::io::stderr(),
            "\nnote: {} is not installed, so {what} (and every other test that needs it) did not \
             run. Install it with `{}`; with CI set a missing part fails the run.\n",
            part.name(),
            part.install()
        );
    }
    false
}
