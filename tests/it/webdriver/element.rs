//! [`Element`]: an element of the page, with `try_` forms that hand back the errors a changing
//! page causes.

use serde_json::{Value, json};

use super::WdError;
use super::browser::Browser;

/// An element of the page.
pub struct Element<'a> {
    pub(super) browser: &'a Browser,
    pub(super) id: String,
}

impl Element<'_> {
    fn path(&self, tail: &str) -> String {
        format!("/element/{}{}", self.id, tail)
    }

    /// Clicks; `Err` when the element is gone or covered (see [`is_transient`]).
    pub async fn try_click(&self) -> Result<(), WdError> {
        self.browser
            .cmd(reqwest::Method::POST, &self.path("/click"), None)
            .await
            .map(drop)
    }

    pub async fn click(&self) {
        self.browser
            .must(reqwest::Method::POST, &self.path("/click"), None)
            .await;
    }

    /// Types text into the element; `Err` when the element is gone.
    pub async fn try_send_keys(&self, text: &str) -> Result<(), WdError> {
        self.browser
            .cmd(
                reqwest::Method::POST,
                &self.path("/value"),
                Some(json!({"text": text})),
            )
            .await
            .map(drop)
    }

    /// Types text into the element (characters and [`keys`] constants).
    pub async fn send_keys(&self, text: &str) {
        self.browser
            .must(
                reqwest::Method::POST,
                &self.path("/value"),
                Some(json!({"text": text})),
            )
            .await;
    }

    /// Clears a field; `Err` when the element is gone.
    pub async fn try_clear(&self) -> Result<(), WdError> {
        self.browser
            .cmd(reqwest::Method::POST, &self.path("/clear"), None)
            .await
            .map(drop)
    }

    pub async fn clear(&self) {
        self.browser
            .must(reqwest::Method::POST, &self.path("/clear"), None)
            .await;
    }

    /// The rendered text; `Err` when the element is gone.
    pub async fn try_text(&self) -> Result<String, WdError> {
        self.browser
            .cmd(reqwest::Method::GET, &self.path("/text"), None)
            .await
            .map(|v| v.as_str().unwrap_or("").to_string())
    }

    /// The rendered text.
    pub async fn text(&self) -> String {
        self.browser
            .must(reqwest::Method::GET, &self.path("/text"), None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// An attribute's value; `Err` when the element is gone.
    pub async fn try_attr(&self, name: &str) -> Result<Option<String>, WdError> {
        self.browser
            .cmd(
                reqwest::Method::GET,
                &self.path(&format!("/attribute/{name}")),
                None,
            )
            .await
            .map(|v| v.as_str().map(str::to_string))
    }

    /// An attribute's value.
    pub async fn attr(&self, name: &str) -> Option<String> {
        self.browser
            .must(
                reqwest::Method::GET,
                &self.path(&format!("/attribute/{name}")),
                None,
            )
            .await
            .as_str()
            .map(str::to_string)
    }

    /// A DOM property's value; `Err` when the element is gone.
    pub async fn try_prop(&self, name: &str) -> Result<Value, WdError> {
        self.browser
            .cmd(
                reqwest::Method::GET,
                &self.path(&format!("/property/{name}")),
                None,
            )
            .await
    }

    /// A DOM property's value (`value` of an input, `checked` of a box).
    pub async fn prop(&self, name: &str) -> Value {
        self.browser
            .must(
                reqwest::Method::GET,
                &self.path(&format!("/property/{name}")),
                None,
            )
            .await
    }

    /// A computed CSS value.
    pub async fn css(&self, property: &str) -> String {
        self.browser
            .must(
                reqwest::Method::GET,
                &self.path(&format!("/css/{property}")),
                None,
            )
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}
