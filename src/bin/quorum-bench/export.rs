//! Exports after labeling: request one per format (on the first instance), download it over
//! loopback from the last instance (with several, the snapshot crosses instances through the
//! database), and time both together.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::api::Api;
use crate::args::check_loopback;
use crate::report::ExportFigure;

pub(crate) async fn export(
    api: &Api,
    admin: &str,
    task: i64,
    format: &str,
    all: bool,
) -> ExportFigure {
    let mut fig = ExportFigure {
        format: format.to_string(),
        ..Default::default()
    };
    let t0 = Instant::now();
    let a = match api
        .post_json(
            admin,
            &format!("/api/v1/tasks/{task}/exports"),
            &json!({"format": format, "only_resolved": !all}),
        )
        .await
    {
        Ok(a) => a,
        Err(e) => {
            fig.status = "error".into();
            fig.note = Some(e);
            return fig;
        }
    };
    match a.status.as_u16() {
        200..=299 => {}
        404 | 405 => {
            fig.status = "skipped".into();
            fig.note = Some(format!(
                "POST /api/v1/tasks/{{id}}/exports answered {}: exports are not in this server yet",
                a.status.as_u16()
            ));
            return fig;
        }
        _ => {
            fig.status = "error".into();
            fig.note = Some(a.describe());
            return fig;
        }
    }
    fig.rows = a.body["rows"].as_u64();
    let Some(url) = a.body["download_url"].as_str() else {
        fig.status = "error".into();
        fig.note = Some(format!("no download_url in {}", a.body));
        return fig;
    };
    // The path of the download URL, on the last instance.
    let path = match url.strip_prefix("http://") {
        Some(rest) => rest.find('/').map(|i| &rest[i..]).unwrap_or("/"),
        None => url,
    };
    let last = api.bases.len().saturating_sub(1);
    fig.downloaded_from_instance = last + 1;
    let url = api.url_at(last, path);
    if check_loopback(&url).is_err() {
        fig.status = "error".into();
        fig.note = Some(format!(
            "download_url {url} is not on loopback; not fetched"
        ));
        return fig;
    }
    let res = api
        .http
        .get(&url)
        .bearer_auth(admin)
        .timeout(Duration::from_secs(1800))
        .send()
        .await;
    let mut res = match res {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            fig.status = "error".into();
            fig.note = Some(format!("download answered {}", r.status()));
            return fig;
        }
        Err(e) => {
            fig.status = "error".into();
            fig.note = Some(format!("download: {e}"));
            return fig;
        }
    };
    let mut bytes = 0u64;
    loop {
        match res.chunk().await {
            Ok(Some(c)) => bytes += c.len() as u64,
            Ok(None) => break,
            Err(e) => {
                fig.status = "error".into();
                fig.note = Some(format!("download broke off after {bytes} bytes: {e}"));
                return fig;
            }
        }
    }
    let s = t0.elapsed().as_secs_f64();
    fig.status = "ok".into();
    fig.seconds = Some(s);
    fig.bytes = Some(bytes);
    fig.bytes_per_s = Some(bytes as f64 / s.max(1e-9));
    fig
}
