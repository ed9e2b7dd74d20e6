//! Data validation of item imports (issue 12): the item schema inferred from the first import,
//! anomalies with their lines and counts, drift figures between consecutive imports, the three
//! anomaly policies (reject stores nothing, warn stores all, quarantine holds the bad items aside
//! until released or discarded), and schema edits that change what is flagged.

use quorum::domain::role::Role;
use serde_json::{Value, json};

use crate::support::*;

async fn new_task(app: &TestApp) -> (i64, Api) {
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "Reviews", "schema": {"kind": "single_choice", "options": [
                {"value": "pos", "label": "Positive"}, {"value": "neg", "label": "Negative"}]},
                "overlap": 1, "max_overlap": 1, "state": "active"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    (id, admin)
}

async fn import(admin: &Api, task: i64, lines: &[Value]) -> (u16, Value) {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            body,
        )
        .await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

/// The first import: 40 items, `lang` en/de half and half, `score` 0.0..0.9 evenly.
fn first_batch() -> Vec<Value> {
    (0..40)
        .map(|i| {
            json!({"external_id": format!("a{i}"), "text": format!("text number {i}"),
                "lang": if i % 2 == 0 {"en"} else {"de"}, "score": (i % 10) as f64 / 10.0})
        })
        .collect()
}

/// 20 items: `fr` on lines 1, 5, 9, 13, 17 (a new category; en 25%, de 50%, fr 25%), scores
/// shifted to 0.5..0.9, and the text "high" as the score on line 3 (a type change).
fn shifted_batch(prefix: &str) -> Vec<Value> {
    (0..20)
        .map(|j| {
            let lang = if j % 4 == 0 {
                "fr"
            } else if j % 2 == 1 {
                "de"
            } else {
                "en"
            };
            let score = if j == 2 {
                json!("high")
            } else {
                json!(0.5 + (j % 5) as f64 / 10.0)
            };
            json!({"external_id": format!("{prefix}{j}"), "text": format!("text number {j}"),
                "lang": lang, "score": score})
        })
        .collect()
}

fn anomaly<'a>(answer: &'a Value, kind: &str, field: &str) -> &'a Value {
    answer["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == kind && a["field"] == field)
        .unwrap_or_else(|| panic!("no {kind} on {field} in {answer}"))
}

fn figure(drift: &Value, field: &str, of: &str) -> f64 {
    drift["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == field && f["of"] == of)
        .unwrap_or_else(|| panic!("no {of} figure for {field} in {drift}"))["value"]
        .as_f64()
        .unwrap()
}

async fn put(admin: &Api, path: &str, body: Value) -> (u16, Value) {
    let res = admin.send_json(reqwest::Method::PUT, path, &body).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn a_shifted_import_gets_its_anomalies_and_drift_and_warn_stores_it_all() {
    let app = TestApp::spawn().await;
    let (task, admin) = new_task(&app).await;
    // Before any import there is no schema.
    let res = admin
        .get(&format!("/api/v1/tasks/{task}/item-schema"))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["schema"], Value::Null);

    let (status, first) = import(&admin, task, &first_batch()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["schema_inferred"], true);
    assert_eq!(first["anomalies"], json!([]));
    assert_eq!(first["drift"], Value::Null);
    let res = admin
        .get(&format!("/api/v1/tasks/{task}/item-schema"))
        .await;
    let schema: Value = res.json().await.unwrap();
    assert_eq!(schema["inferred_from_import"], first["import_id"]);
    let fields = schema["schema"]["fields"].as_array().unwrap();
    let field = |n: &str| fields.iter().find(|f| f["name"] == n).unwrap().clone();
    assert_eq!(
        field("lang"),
        json!({"name": "lang", "type": "string", "required": true, "domain": ["de", "en"],
            "min_length": 1, "max_length": 4})
    );
    assert_eq!(
        field("score"),
        json!({"name": "score", "type": "number", "required": true, "min": 0.0, "max": 0.9})
    );
    assert_eq!(field("text")["domain"], Value::Null, "free text");

    // The default policy warns: every item is stored, the anomalies and drift are reported.
    let (status, second) = import(&admin, task, &shifted_batch("b")).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(
        (second["imported"].as_u64(), second["quarantined"].as_u64()),
        (Some(20), Some(0))
    );
    assert_eq!(second["schema_inferred"], false);
    let unseen = anomaly(&second, "unseen_category", "lang");
    assert_eq!(unseen["lines"], json!([1, 5, 9, 13, 17]));
    assert_eq!(unseen["count"], 5);
    assert_eq!(unseen["values"], json!(["fr"]));
    let changed = anomaly(&second, "type_change", "score");
    assert_eq!(
        (changed["lines"].clone(), changed["count"].clone()),
        (json!([3]), json!(1))
    );
    assert_eq!(changed["values"], json!(["string"]));
    assert_eq!(second["anomalies"].as_array().unwrap().len(), 2, "{second}");
    assert_eq!(second["anomalous"], 6);
    let drift = &second["drift"];
    assert_eq!(drift["against_import"], first["import_id"]);
    assert_eq!(drift["drifting"], true);
    // L∞: en 0.5 → 0.25, de 0.5 → 0.5, fr 0 → 0.25.
    assert!(
        (figure(drift, "lang", "values") - 0.25).abs() < 1e-6,
        "{drift}"
    );
    // JSD over 10 bins of 0..0.9: (0.1 × 10) against (4, 4, 3, 4, 4)/19 in the top five.
    assert!(
        (figure(drift, "score", "numbers") - 0.312747).abs() < 1e-5,
        "{drift}"
    );
    // Text lengths 13/14 in 1:3 against 1:1: a small divergence, under the threshold.
    assert!(
        (figure(drift, "text", "length") - 0.048795).abs() < 1e-5,
        "{drift}"
    );
    assert!((drift["score"].as_f64().unwrap() - 0.312747).abs() < 1e-5);
    assert_eq!(app.count("SELECT COUNT(*) FROM items").await, 60);

    // The imports list carries the figures and the flag, newest first.
    let res = admin.get(&format!("/api/v1/tasks/{task}/imports")).await;
    let list: Value = res.json().await.unwrap();
    let imports = list["imports"].as_array().unwrap();
    assert_eq!(imports[0]["drifting"], true);
    assert_eq!(imports[0]["anomalous"], 6);
    assert!((imports[0]["drift_score"].as_f64().unwrap() - 0.312747).abs() < 1e-5);
    assert_eq!(imports[1]["drifting"], false);
    assert_eq!(
        (
            imports[0]["made_schema"].clone(),
            imports[1]["made_schema"].clone()
        ),
        (json!(false), json!(true))
    );
    assert_eq!(imports[1]["drift_score"], Value::Null);

    // The task page flags the drifting import; the validation page charts it.
    let session = app.admin().await;
    let html = session
        .get(&format!("/admin/tasks/{task}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"drift-alert\""), "{html}");
    assert!(html.contains("drift-flag"));
    let res = session
        .get(&format!("/admin/tasks/{task}/validation"))
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("class=\"bar drifting\""), "{html}");
    assert!(html.contains("unseen_category"));

    // A later import like the first is compared with the shifted one, not the first.
    let same: Vec<Value> = shifted_batch("c");
    let (_, third) = import(&admin, task, &same).await;
    assert_eq!(third["drift"]["against_import"], second["import_id"]);
    assert_eq!(third["drift"]["drifting"], false, "{third}");
}

#[tokio::test]
async fn the_reject_policy_stores_nothing_and_answers_with_the_anomalies() {
    let app = TestApp::spawn().await;
    let (task, admin) = new_task(&app).await;
    let (status, _) = import(&admin, task, &first_batch()).await;
    assert_eq!(status, 200);
    let (status, s) = put(
        &admin,
        &format!("/api/v1/tasks/{task}/validation"),
        json!({"anomaly_policy": "reject", "drift_thresholds": {"categorical": 0.2, "numeric": 0.3}}),
    )
    .await;
    assert_eq!(status, 200, "{s}");
    for bad in [
        json!({"anomaly_policy": "drop"}),
        json!({"anomaly_policy": "warn", "drift_thresholds": {"categorical": 2, "numeric": 0.1}}),
    ] {
        let (status, err) = put(&admin, &format!("/api/v1/tasks/{task}/validation"), bad).await;
        assert_eq!(status, 400, "{err}");
    }

    let before = app.fingerprint().await;
    let (status, err) = import(&admin, task, &shifted_batch("b")).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["code"], "import_rejected");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.contains("6 of 20 items"), "{message}");
    assert!(message.contains("nothing was stored"), "{message}");
    let anomalies = err["error"]["anomalies"].as_array().unwrap();
    let unseen = anomalies
        .iter()
        .find(|a| a["kind"] == "unseen_category")
        .unwrap();
    assert_eq!(unseen["lines"], json!([1, 5, 9, 13, 17]));
    // Nothing changed but the import's own line in the history, which says why it failed.
    let without_imports = |f: &str| -> String {
        f.lines()
            .filter(|l| !l.starts_with("imports["))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let after = app.fingerprint().await;
    assert_eq!(without_imports(&after), without_imports(&before));
    let res = admin.get(&format!("/api/v1/tasks/{task}/imports")).await;
    let latest = res.json::<Value>().await.unwrap()["imports"][0].clone();
    assert_eq!(latest["status"], "failed");
    assert!(
        latest["error"]
            .as_str()
            .unwrap()
            .contains("anomaly policy is reject")
    );

    // A clean import still goes in.
    let clean: Vec<Value> = first_batch()
        .into_iter()
        .map(|mut v| {
            let id = v["external_id"].as_str().unwrap().replace('a', "z");
            v["external_id"] = json!(id);
            v
        })
        .collect();
    let (status, ok) = import(&admin, task, &clean).await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(ok["imported"], 40);
    assert_eq!(ok["drift"]["drifting"], false);
}

#[tokio::test]
async fn quarantine_holds_the_anomalous_items_aside_until_released_or_discarded() {
    let app = TestApp::spawn().await;
    let (task, admin) = new_task(&app).await;
    import(&admin, task, &first_batch()).await;
    let (status, _) = put(
        &admin,
        &format!("/api/v1/tasks/{task}/validation"),
        json!({"anomaly_policy": "quarantine"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, answer) = import(&admin, task, &shifted_batch("b")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["imported"], 14);
    assert_eq!(answer["quarantined"], 6);
    assert_eq!(answer["skipped_duplicates"], 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM items").await, 54);
    // Held items are not items: a rater's leases never reach them.
    let held = app
        .count("SELECT COUNT(*) FROM items WHERE external_id IN ('b0', 'b2', 'b4')")
        .await;
    assert_eq!(held, 0);

    let res = admin.get(&format!("/api/v1/tasks/{task}/quarantine")).await;
    let list: Value = res.json().await.unwrap();
    assert_eq!(list["total"], 6);
    let items = list["items"].as_array().unwrap();
    let b2 = items.iter().find(|i| i["external_id"] == "b2").unwrap();
    assert_eq!(b2["line"], 3);
    assert_eq!(b2["reasons"], json!(["type_change:score"]));
    assert_eq!(b2["data"]["score"], "high");
    let b0 = items.iter().find(|i| i["external_id"] == "b0").unwrap();
    assert_eq!(b0["reasons"], json!(["unseen_category:lang"]));

    // Bad requests change nothing.
    let before = app.fingerprint().await;
    let url = |a: &str| format!("/api/v1/tasks/{task}/quarantine/{a}");
    for body in [
        json!({}),
        json!({"ids": [b2["id"]], "all": true}),
        json!({"ids": [999_999]}),
    ] {
        let res = admin.post_json(&url("release"), &body).await;
        assert_eq!(res.status(), 400, "{body}");
    }
    assert_eq!(app.fingerprint().await, before);

    // Releasing one makes it an item of its import; discarding the rest empties the quarantine.
    let res = admin
        .post_json(&url("release"), &json!({"ids": [b2["id"]]}))
        .await;
    assert_eq!(res.status(), 200);
    let out: Value = res.json().await.unwrap();
    assert_eq!(
        (out["released"].clone(), out["discarded"].clone()),
        (json!(1), json!(0))
    );
    let released = app
        .count("SELECT COUNT(*) FROM items WHERE external_id = 'b2' AND state = 'open'")
        .await;
    assert_eq!(released, 1);
    let res = admin
        .post_json(&url("discard"), &json!({"all": true}))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["discarded"], 5);
    assert_eq!(app.count("SELECT COUNT(*) FROM quarantine").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM items").await, 55);

    // Others see no such task.
    let reviewer = app.user("rev", Role::Reviewer).await;
    for path in ["validation", "item-schema", "quarantine"] {
        let res = reviewer.get(&format!("/api/v1/tasks/{task}/{path}")).await;
        assert_eq!(res.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn editing_the_schema_changes_what_is_flagged() {
    let app = TestApp::spawn().await;
    let (task, admin) = new_task(&app).await;
    import(&admin, task, &first_batch()).await;
    let path = format!("/api/v1/tasks/{task}/item-schema");
    let res = admin.get(&path).await;
    let mut schema = res.json::<Value>().await.unwrap()["schema"].clone();

    // A schema that does not hold together is refused with its path; nothing changes.
    let before = app.fingerprint().await;
    let mut bad = schema.clone();
    bad["fields"][1]["min"] = json!(5);
    let (status, err) = put(&admin, &path, bad).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["code"], "invalid_item_schema");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("fields[1]"),
        "{err}"
    );
    assert_eq!(app.fingerprint().await, before);

    // fr joins the domain: only the type change is left.
    for f in schema["fields"].as_array_mut().unwrap() {
        if f["name"] == "lang" {
            f["domain"] = json!(["de", "en", "fr"]);
        }
    }
    let (status, saved) = put(&admin, &path, schema).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["inferred_from_import"], Value::Null);
    let (_, answer) = import(&admin, task, &shifted_batch("b")).await;
    let kinds: Vec<&str> = answer["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["type_change"], "{answer}");
    assert_eq!(answer["anomalous"], 1);

    // A required field missing, and an empty text, under the edited schema.
    let (_, answer) = import(
        &admin,
        task,
        &[
            json!({"external_id": "m1", "text": "ok text", "lang": "en"}),
            json!({"external_id": "m2", "text": " ", "lang": "en", "score": 0.1}),
        ],
    )
    .await;
    assert_eq!(
        anomaly(&answer, "missing_field", "score")["lines"],
        json!([1])
    );
    assert_eq!(anomaly(&answer, "empty_text", "text")["lines"], json!([2]));

    // The page's form saves through the same service, and shows a bad schema again with why.
    let session = app.admin().await;
    let res = session
        .post_form(
            &format!("/admin/tasks/{task}/item-schema"),
            &[(
                "schema",
                "{\"fields\": [{\"name\": \"x\", \"type\": \"nope\"}]}",
            )],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("unknown variant"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_validation_page_charts_drift_and_releases_from_the_quarantine_in_the_browser() {
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    use crate::webdriver::Browser;
    let app = TestApp::spawn().await;
    let (task, admin) = new_task(&app).await;
    import(&admin, task, &first_batch()).await;
    let renamed = |p: &str| -> Vec<Value> {
        first_batch()
            .into_iter()
            .map(|mut v| {
                v["external_id"] = json!(v["external_id"].as_str().unwrap().replace('a', p));
                v
            })
            .collect()
    };
    import(&admin, task, &renamed("s")).await;
    put(
        &admin,
        &format!("/api/v1/tasks/{task}/validation"),
        json!({"anomaly_policy": "quarantine"}),
    )
    .await;
    let (_, shifted) = import(&admin, task, &shifted_batch("b")).await;
    assert_eq!(shifted["quarantined"], 6);

    let b = Browser::new().await;
    b.login(&app, "admin", ADMIN_PASSWORD).await;
    b.goto(&app.url(&format!("/admin/tasks/{task}"))).await;
    b.wait_text("#drift-alert", "drifts from the one before")
        .await;
    b.screenshot("validation-1-task-page").await;
    b.execute(
        "document.querySelector('.drift-flag').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await;
    b.screenshot("validation-2-task-import-history").await;
    b.click(&format!("a[href='/admin/tasks/{task}/validation']"))
        .await;
    b.wait_text("h1", "data validation").await;
    assert_eq!(
        b.find_all(".drift-chart > rect.bar.drifting").await.len(),
        1
    );
    b.screenshot("validation-3-page").await;
    b.execute(
        "document.getElementById('statistics').scrollIntoView()",
        vec![],
    )
    .await;
    b.screenshot("validation-4-statistics").await;
    b.execute("document.getElementById('policy').scrollIntoView()", vec![])
        .await;
    b.screenshot("validation-5-policy-and-schema").await;
    b.execute(
        "document.getElementById('quarantine').scrollIntoView()",
        vec![],
    )
    .await;
    b.screenshot("validation-6-quarantine").await;
    b.click("#quarantine tbody tr:first-child form button[type=submit]")
        .await;
    b.wait_text("p.alert.ok", "Released into the task").await;
    assert_eq!(b.text("#quarantine-total").await.trim(), "5");
    b.assert_no_console_errors().await;

    // On a phone the page fits the width (wide tables scroll inside their card).
    b.resize(390, 844).await;
    let overflow = b
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth",
            vec![],
        )
        .await;
    assert_eq!(overflow, json!(false), "the validation page fits a phone");
    b.screenshot("validation-7-phone").await;
    b.execute(
        "document.getElementById('statistics').scrollIntoView()",
        vec![],
    )
    .await;
    b.screenshot("validation-8-phone-statistics").await;
    b.goto(&app.url(&format!("/admin/tasks/{task}"))).await;
    b.wait_text("#drift-alert", "drifts").await;
    b.screenshot("validation-9-phone-task-page").await;
    b.quit().await;
}

#[tokio::test]
async fn csv_cells_are_typed_for_the_schema_and_the_checks() {
    let app = TestApp::spawn().await;
    let (task, admin) = new_task(&app).await;
    let csv = |rows: &[&str]| format!("external_id,text,lang,score\n{}\n", rows.join("\n"));
    let post = |body: String| {
        let admin = &admin;
        async move {
            let res = admin
                .post_body(&format!("/api/v1/tasks/{task}/items"), "text/csv", body)
                .await;
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    post(csv(&[
        "c1,one,en,0.1",
        "c2,two,de,0.5",
        "c3,three,en,",
        "c4,four,de,0.9",
    ]))
    .await;
    let res = admin
        .get(&format!("/api/v1/tasks/{task}/item-schema"))
        .await;
    let schema: Value = res.json().await.unwrap();
    let score = schema["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "score")
        .unwrap()
        .clone();
    assert_eq!(score["type"], "number");
    assert_eq!(score["required"], false, "an empty cell is a missing value");
    let answer = post(csv(&["d1,five,en,0.3", "d2,six,de,lots", "d3,seven,en,7"])).await;
    // Line 1 is the header: the records are lines 2 to 4.
    assert_eq!(
        anomaly(&answer, "type_change", "score")["lines"],
        json!([3])
    );
    assert_eq!(
        anomaly(&answer, "out_of_range", "score")["lines"],
        json!([4])
    );
}
