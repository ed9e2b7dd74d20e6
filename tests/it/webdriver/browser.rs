//! [`Browser`]: one headless Chromium window (a WebDriver session), its commands, and the waits
//! that look again while the page changes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::support::TestApp;

use super::driver::{driver, raw_http};
use super::element::Element;
use super::{CHROMIUM, ELEMENT_KEY, SHOTS_DIR, WAIT, WdError, is_transient};

/// One browser window: a WebDriver session with a fresh profile.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    port: u16,
    closed: bool,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts a headless Chromium with a fresh profile (1280×900).
    pub async fn new() -> Browser {
        Self::with_size(1280, 900).await
    }

    /// Starts a headless Chromium with a fresh profile and the given window size.
    pub async fn with_size(width: u32, height: u32) -> Browser {
        let d = driver();
        let port: u16 = d.url.rsplit(':').next().unwrap().parse().unwrap();
        let profile = tempfile::Builder::new()
            .prefix("quorum-chromium-")
            .tempdir()
            .expect("profile dir");
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-extensions".into(),
            "--disable-default-apps".into(),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            "--disable-crash-reporter".into(),
            "--disable-breakpad".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": {"implicit": 0, "pageLoad": 30000, "script": 10000},
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"}
        }}});
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let res = http
            .post(format!("{}/session", d.url))
            .json(&caps)
            .send()
            .await
            .expect("chromedriver answers");
        let body: Value = res.json().await.expect("chromedriver answers JSON");
        let session = body["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver could not start Chromium ({CHROMIUM}): {body}"))
            .to_string();
        Browser {
            http,
            session,
            port,
            closed: false,
            _profile: profile,
        }
    }

    pub(super) async fn cmd(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, WdError> {
        let url = format!(
            "http://127.0.0.1:{}/session/{}{}",
            self.port, self.session, path
        );
        let mut req = self.http.request(method.clone(), &url);
        // The protocol wants a JSON body on every POST, even an empty one.
        if method == reqwest::Method::POST {
            req = req.json(&body.unwrap_or_else(|| json!({})));
        }
        let res = req.send().await.map_err(|e| WdError {
            error: "transport".into(),
            message: e.to_string(),
        })?;
        let status = res.status();
        let v: Value = res.json().await.map_err(|e| WdError {
            error: "bad answer".into(),
            message: e.to_string(),
        })?;
        if status.is_success() {
            Ok(v["value"].clone())
        } else {
            Err(WdError {
                error: v["value"]["error"]
                    .as_str()
                    .unwrap_or("unknown")
                    .to_string(),
                message: v["value"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string(),
            })
        }
    }

    pub(super) async fn must(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        match self.cmd(method, path, body.clone()).await {
            Ok(v) => v,
            Err(e) => panic!(
                "WebDriver {path} {}: {}: {}",
                body.map(|b| b.to_string()).unwrap_or_default(),
                e.error,
                e.message
            ),
        }
    }

    /// Opens a URL and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.must(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        self.must(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// The current page's title.
    pub async fn title(&self) -> String {
        self.must(reqwest::Method::GET, "/title", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// The first element matching a CSS selector, if there is one now.
    pub async fn try_find(&self, css: &str) -> Option<Element<'_>> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await
            .ok()?;
        v[ELEMENT_KEY].as_str().map(|id| Element {
            browser: self,
            id: id.to_string(),
        })
    }

    /// Polls `step` until it gives a value, up to [`WAIT`]. A step answers `Ok(None)` for "not
    /// yet"; a WebDriver error that a navigating page causes ([`is_transient`]: the element went
    /// stale, is not there yet, or is covered for a moment) counts as "not yet" too. Only the
    /// deadline, or an error no page change explains, fails the test; `what` says what was
    /// awaited, and the message adds the page's URL and the last transient error.
    pub async fn poll<T>(
        &self,
        what: &str,
        step: impl AsyncFnMut(&Browser) -> Result<Option<T>, WdError>,
    ) -> T {
        match self.poll_until(step).await {
            Ok(v) => v,
            Err(why) => panic!("waiting for {what}: {why}"),
        }
    }

    /// [`Browser::poll`] that hands the failure back (what went wrong, where) instead of
    /// panicking, so a caller can add what it saw.
    pub async fn poll_until<T>(
        &self,
        mut step: impl AsyncFnMut(&Browser) -> Result<Option<T>, WdError>,
    ) -> Result<T, String> {
        let started = Instant::now();
        let mut last: Option<WdError> = None;
        loop {
            match step(self).await {
                Ok(Some(v)) => return Ok(v),
                Ok(None) => {}
                Err(e) if is_transient(&e) => last = Some(e),
                Err(e) => return Err(format!("WebDriver {}: {}", e.error, e.message)),
            }
            if started.elapsed() > WAIT {
                let url = self
                    .cmd(reqwest::Method::GET, "/url", None)
                    .await
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let last = last
                    .map(|e| format!(" (last: {}: {})", e.error, e.message))
                    .unwrap_or_default();
                return Err(format!("not there on {url} after {WAIT:?}{last}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The first element matching a CSS selector, waiting up to [`WAIT`] for it to appear.
    pub async fn find(&self, css: &str) -> Element<'_> {
        self.poll(&format!("an element matching {css:?}"), async |_| {
            Ok(self.try_find(css).await)
        })
        .await
    }

    /// Every element matching a CSS selector now.
    pub async fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        let v = self
            .must(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str())
                    .map(|id| Element {
                        browser: self,
                        id: id.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The visible text of the first element matching `css` (waiting for it, and looking again
    /// if the page replaces it while it is read).
    pub async fn text(&self, css: &str) -> String {
        self.poll(&format!("the text of {css:?}"), async |b| {
            match b.try_find(css).await {
                Some(e) => e.try_text().await.map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    /// An attribute of the first element matching `css` (waiting for it, looking again if the
    /// page replaces it while it is read).
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.poll(
            &format!("attribute {name:?} of {css:?}"),
            async |b| match b.try_find(css).await {
                Some(e) => e.try_attr(name).await.map(Some),
                None => Ok(None),
            },
        )
        .await
    }

    /// Clicks the first element matching `css` (waiting for it; a click on an element that went
    /// stale or was covered for a moment is tried again on the current one).
    pub async fn click(&self, css: &str) {
        self.poll(&format!("a click on {css:?}"), async |b| {
            match b.try_find(css).await {
                Some(e) => e.try_click().await.map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    /// Clears the field matching `css` and types `text` into it (from the start again if the
    /// page replaces the field meanwhile).
    pub async fn type_into(&self, css: &str, text: &str) {
        self.poll(&format!("typing into {css:?}"), async |b| {
            let Some(e) = b.try_find(css).await else {
                return Ok(None);
            };
            e.try_clear().await?;
            e.try_send_keys(text).await.map(Some)
        })
        .await
    }

    /// Presses keys on whatever has the focus, as a person on the keyboard would (each character,
    /// or a [`keys`] constant, is pressed and released in turn).
    ///
    /// Waits first for the page to finish loading: keys pressed while a new page is still parsing
    /// reach no handler and are lost.
    pub async fn press_keys(&self, keys: &str) {
        self.wait_ready().await;
        let mut actions = Vec::new();
        for c in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": c.to_string()}));
            actions.push(json!({"type": "keyUp", "value": c.to_string()}));
        }
        self.must(
            reqwest::Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        )
        .await;
        let _ = self.cmd(reqwest::Method::DELETE, "/actions", None).await;
    }

    /// Presses `key` while holding `modifier` (e.g. [`keys::SHIFT`] and [`keys::RIGHT`]).
    pub async fn press_chord(&self, modifier: &str, key: &str) {
        self.wait_ready().await;
        let actions = json!([
            {"type": "keyDown", "value": modifier}, {"type": "keyDown", "value": key},
            {"type": "keyUp", "value": key}, {"type": "keyUp", "value": modifier}]);
        self.must(
            reqwest::Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        )
        .await;
        let _ = self.cmd(reqwest::Method::DELETE, "/actions", None).await;
    }

    /// Drags the mouse inside the element `css` from one point to another, given as offsets
    /// from the element's centre (WebDriver's element origin).
    pub async fn drag_in(&self, css: &str, from: (i64, i64), to: (i64, i64)) {
        self.wait_ready().await;
        let el = self.find(css).await;
        let origin = json!({ELEMENT_KEY: el.id});
        let actions = json!([
            {"type": "pointerMove", "duration": 0, "origin": origin, "x": from.0, "y": from.1},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerMove", "duration": 100, "origin": origin, "x": (from.0 + to.0) / 2, "y": (from.1 + to.1) / 2},
            {"type": "pointerMove", "duration": 100, "origin": origin, "x": to.0, "y": to.1},
            {"type": "pointerUp", "button": 0}]);
        self.must(
            reqwest::Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": actions}]})),
        )
        .await;
        let _ = self.cmd(reqwest::Method::DELETE, "/actions", None).await;
    }

    /// Waits (up to [`WAIT`]) until the current document has loaded and run its scripts
    /// (`document.readyState` is `complete`). While a page navigates the question may fail;
    /// that is "not yet" too.
    pub async fn wait_ready(&self) {
        self.poll("the page to finish loading", async |b| {
            let state = b
                .cmd(
                    reqwest::Method::POST,
                    "/execute/sync",
                    Some(json!({"script": "return document.readyState", "args": []})),
                )
                .await;
            Ok(matches!(state, Ok(v) if v == "complete").then_some(()))
        })
        .await
    }

    /// A DOM property of the first element matching `css` (waiting for it, looking again if the
    /// page replaces it while it is read).
    pub async fn prop(&self, css: &str, name: &str) -> Value {
        self.poll(
            &format!("property {name:?} of {css:?}"),
            async |b| match b.try_find(css).await {
                Some(e) => e.try_prop(name).await.map(Some),
                None => Ok(None),
            },
        )
        .await
    }

    /// Runs JavaScript in the page (`arguments[0]`… are `args`) and returns its result.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.must(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Waits (up to [`WAIT`]) until the URL satisfies `ok`; `what` names the wait in the failure,
    /// which also gives the URL and the page's `h1` at the deadline.
    pub async fn wait_url(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            // A page in the middle of navigating may fail to answer; that is "not yet" too.
            let url = match self.cmd(reqwest::Method::GET, "/url", None).await {
                Ok(v) => v.as_str().unwrap_or("").to_string(),
                Err(e) if is_transient(&e) => String::new(),
                Err(e) => panic!("waiting for {what}: WebDriver {}: {}", e.error, e.message),
            };
            if ok(&url) {
                return url;
            }
            if started.elapsed() > WAIT {
                let h1 = match self.try_find("h1").await {
                    Some(e) => e.try_text().await.unwrap_or_default(),
                    None => String::new(),
                };
                panic!("waiting for {what}: still on {url} (h1: {h1:?}) after {WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to [`WAIT`]) until the element matching `css` shows text containing `needle`.
    /// The element may be replaced (a reload, a re-render) any number of times meanwhile.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let mut seen: Option<String> = None;
        let found = self
            .poll_until(async |b| {
                let Some(e) = b.try_find(css).await else {
                    return Ok(None);
                };
                let t = e.try_text().await?;
                if t.contains(needle) {
                    return Ok(Some(t));
                }
                seen = Some(t);
                Ok(None)
            })
            .await;
        match found {
            Ok(t) => t,
            Err(why) => {
                let seen = match seen {
                    Some(t) => format!(
                        "; it last read {:?}",
                        t.chars().take(300).collect::<String>()
                    ),
                    None => format!("; no element ever matched {css:?}"),
                };
                panic!("waiting for {css:?} containing {needle:?}: {why}{seen}")
            }
        }
    }

    /// Signs in through the real login page and waits to land past it.
    pub async fn login(&self, app: &TestApp, username: &str, password: &str) {
        self.goto(&app.url("/login")).await;
        self.type_into("input[name=username]", username).await;
        self.type_into("input[name=password]", password).await;
        self.click("form[action='/login'] button[type=submit]")
            .await;
        self.wait_url(&format!("{username} to be signed in"), |u| {
            u.starts_with(&app.base) && !u.contains("/login")
        })
        .await;
    }

    /// Saves a PNG of the window to `/tmp/quorum-shots/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let b64 = self.must(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or(""))
            .expect("screenshot is base64");
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
        std::fs::create_dir_all(SHOTS_DIR).expect("screenshot dir");
        let path = Path::new(SHOTS_DIR).join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Resizes the window (e.g. to a phone's 390×844).
    pub async fn resize(&self, width: u32, height: u32) {
        self.must(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    /// Messages of level SEVERE from the browser console since the last call (script errors,
    /// CSP violations, failed loads).
    pub async fn console_errors(&self) -> Vec<String> {
        let v = self
            .must(
                reqwest::Method::POST,
                "/se/log",
                Some(json!({"type": "browser"})),
            )
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .map(|e| e["message"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Fails when the console shows errors (a CSP violation, a script error, a missing file).
    pub async fn assert_no_console_errors(&self) {
        let errors = self.console_errors().await;
        assert!(
            errors.is_empty(),
            "browser console errors on {}:\n{}",
            self.url().await,
            errors.join("\n")
        );
    }

    /// Ends the session and closes the browser.
    pub async fn quit(mut self) {
        let _ = self.cmd(reqwest::Method::DELETE, "", None).await;
        self.closed = true;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.closed {
            // A failed test never reached `quit`: close the browser synchronously.
            let _ = raw_http(self.port, "DELETE", &format!("/session/{}", self.session));
        }
    }
}
