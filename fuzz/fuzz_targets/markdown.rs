//! Task instructions: any Markdown renders, without a script element (escaped text may mention
//! anything, so this checks tags only).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    let html = quorum::domain::markdown::render(data).to_lowercase();
    assert!(!html.contains("<script"));
    assert!(!html.contains(" onerror=\"") && !html.contains("href=\"javascript:"));
});
