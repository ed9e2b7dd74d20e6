//! HTTP helpers: the [`Api`] client bound to the instances' base URLs (the first takes the
//! admin's calls), each response as an [`Answer`] (status and JSON body), and [`expect`] for the
//! setup calls that must succeed.

use reqwest::StatusCode;
use serde_json::Value;

pub(crate) struct Api {
    pub(crate) http: reqwest::Client,
    /// Every instance's base URL, at least one.
    pub(crate) bases: Vec<String>,
}

/// A response's status and JSON body (Null when it has none or it is not JSON).
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

impl Answer {
    pub(crate) fn error_code(&self) -> String {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or("")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect()
    }

    pub(crate) fn describe(&self) -> String {
        let msg = self.body["error"]["message"].as_str().unwrap_or("");
        format!("{} {} {}", self.status.as_u16(), self.error_code(), msg)
    }
}

impl Api {
    /// A URL on the first instance.
    pub(crate) fn url(&self, path: &str) -> String {
        self.url_at(0, path)
    }

    /// A URL on instance `i` (counted round the instances).
    pub(crate) fn url_at(&self, i: usize, path: &str) -> String {
        let base = self
            .bases
            .get(i % self.bases.len().max(1))
            .map(String::as_str)
            .unwrap_or("");
        format!("{base}{path}")
    }

    pub(crate) async fn send(&self, req: reqwest::RequestBuilder) -> Result<Answer, String> {
        let res = req.send().await.map_err(|e| format!("request: {e}"))?;
        let status = res.status();
        let bytes = res.bytes().await.map_err(|e| format!("response: {e}"))?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }

    pub(crate) async fn post_json(
        &self,
        token: &str,
        path: &str,
        body: &Value,
    ) -> Result<Answer, String> {
        self.post_json_at(0, token, path, body).await
    }

    pub(crate) async fn post_json_at(
        &self,
        i: usize,
        token: &str,
        path: &str,
        body: &Value,
    ) -> Result<Answer, String> {
        self.send(
            self.http
                .post(self.url_at(i, path))
                .bearer_auth(token)
                .json(body),
        )
        .await
    }

    pub(crate) async fn get(&self, token: &str, path: &str) -> Result<Answer, String> {
        self.get_at(0, token, path).await
    }

    pub(crate) async fn get_at(&self, i: usize, token: &str, path: &str) -> Result<Answer, String> {
        self.send(self.http.get(self.url_at(i, path)).bearer_auth(token))
            .await
    }
}

pub(crate) fn expect(a: Answer, ok: &[u16], what: &str) -> Result<Value, String> {
    if ok.contains(&a.status.as_u16()) {
        Ok(a.body)
    } else {
        Err(format!("{what}: {}", a.describe()))
    }
}
