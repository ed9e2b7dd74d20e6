//! Image boxes: bad boxes refused with nothing stored, matched boxes fused, COCO read back, and
//! a rater drawing boxes with the mouse in Chromium.

use std::io::{Read, Write};

use serde_json::{Value, json};

use super::{kind_task, send};
use crate::export::{download, export};
use crate::labeling::rater;
use crate::support::*;
use crate::webdriver::{Browser, keys};

pub(super) fn schema() -> Value {
    json!({"kind": "boxes", "field": "image", "labels": [
        {"value": "car", "label": "Car", "hotkey": "c", "color": "#e4572e"},
        {"value": "person", "label": "Person", "hotkey": "p", "color": "#2e86ab"}]})
}

/// A tiny HTTP server that answers every request with a 400×300 SVG picture; its base URL.
pub(super) fn picture_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let svg = "<svg xmlns='http://www.w3.org/2000/svg' width='400' height='300'><rect width='400' height='300' fill='#cde'/><rect x='100' y='100' width='150' height='100' fill='#c33'/><circle cx='320' cy='60' r='30' fill='#fc3'/></svg>";
        for stream in listener.incoming().flatten() {
            let mut s = stream;
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: image/svg+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{svg}",
                svg.len()
            );
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn bad_boxes_are_refused_and_matched_boxes_fuse_and_export_as_coco() {
    let app = TestApp::spawn().await;
    let items = "{\"external_id\": \"i1\", \"image\": \"https://example.org/1.jpg\", \"width\": 640, \"height\": 480}\n\
                 {\"external_id\": \"i2\", \"image\": \"https://example.org/2.jpg\", \"width\": 640, \"height\": 480}\n";
    let (task, admin) = kind_task(&app, schema(), 2, 2, items).await;
    // An item without its image is refused at import, with the line.
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            "{\"text\": \"no image\"}\n".to_string(),
        )
        .await;
    assert_eq!(res.status(), 400);
    let ann = rater(&app, &admin, task, "ann").await;
    let bob = rater(&app, &admin, task, "bob").await;
    let (sa, sb) = (ann.lease(task).await, bob.lease(task).await);
    let id_of = |s: &Value, n: usize| s["items"][n]["id"].as_i64().unwrap();
    let said = sa["id"].as_i64().unwrap();
    for (i, (bad, why)) in [
        (
            json!([{"x": 600, "y": 400, "w": 50, "h": 50, "label": "car"}]),
            "past the image (640×480",
        ),
        (
            json!([{"x": 10, "y": 10, "w": 0, "h": 50, "label": "car"}]),
            "above 0",
        ),
        (
            json!([{"x": 10, "y": 10, "w": -5, "h": 50, "label": "car"}]),
            "above 0",
        ),
        (
            json!([{"x": -30, "y": 10, "w": 5, "h": 50, "label": "car"}]),
            "negative",
        ),
        (
            json!([{"x": 10, "y": 10, "w": 5, "h": 5, "label": "bus"}]),
            "not one of",
        ),
        (json!([{"x": 10, "y": 10, "w": 5}]), "h must be"),
        (json!("car"), "a list"),
    ]
    .into_iter()
    .enumerate()
    {
        let res = send(&ann, said, id_of(&sa, 0), &bad, &format!("bad-{i}")).await;
        assert_eq!(res.status(), 400, "{bad}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_value");
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(why), "{bad}: {msg}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM labels").await,
        0,
        "nothing stored"
    );
    let car = |x: f64, y: f64| json!({"x": x, "y": y, "w": 100, "h": 50, "label": "car"});
    // Item 1: both box the car a little apart → fused. Item 2: nothing to box, both.
    for (api, s, v1) in [(&ann, &sa, car(10.0, 10.0)), (&bob, &sb, car(14.0, 10.0))] {
        let sid = s["id"].as_i64().unwrap();
        let n = api
            .get(&format!("/api/v1/shards/{sid}"))
            .await
            .json::<Value>()
            .await
            .unwrap();
        let item = |ext: &str| {
            n["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["data"]["image"].as_str().unwrap().contains(ext))
                .unwrap()["id"]
                .as_i64()
                .unwrap()
        };
        assert_eq!(
            send(api, sid, item("1.jpg"), &json!([v1]), "a")
                .await
                .status(),
            201
        );
        assert_eq!(
            send(api, sid, item("2.jpg"), &json!([]), "b")
                .await
                .status(),
            201
        );
    }
    let finals: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.external_id, r.value_json FROM resolutions r JOIN items i ON i.id = r.item_id ORDER BY i.external_id",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(
        finals[0].1,
        r#"[{"h":50.0,"label":"car","w":100.0,"x":12.0,"y":10.0}]"#
    );
    assert_eq!(finals[1].1, "[]");
    let q: Value = admin
        .get(&format!("/api/v1/tasks/{task}/quality"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["boxes"]["f1_iou50"], 1.0);
    // IoU of (10,10,100,50) and (14,10,100,50): 96·50 / (2·5000 − 96·50) = 4800/5200.
    assert!((q["boxes"]["mean_iou"].as_f64().unwrap() - 4800.0 / 5200.0).abs() < 1e-9);
    assert_eq!(q["boxes"]["iou_histogram"], json!([0, 0, 0, 0, 1]));

    // COCO, read back with a reader that knows only the format, matches the database.
    let e = export(&admin, task, json!({"format": "coco"})).await;
    let coco: Value = serde_json::from_slice(&download(&admin, &e["id"]).await).unwrap();
    assert_eq!(
        coco["categories"],
        json!([{"id": 1, "name": "car", "supercategory": ""}, {"id": 2, "name": "person", "supercategory": ""}])
    );
    let images = coco["images"].as_array().unwrap();
    assert_eq!(images.len(), 2);
    assert_eq!(images[0]["file_name"], "https://example.org/1.jpg");
    assert_eq!(
        (images[0]["width"].as_f64(), images[0]["height"].as_f64()),
        (Some(640.0), Some(480.0))
    );
    let anns = coco["annotations"].as_array().unwrap();
    assert_eq!(anns.len(), 1);
    assert_eq!(anns[0]["image_id"], images[0]["id"]);
    assert_eq!(anns[0]["category_id"], 1);
    assert_eq!(anns[0]["bbox"], json!([12.0, 10.0, 100.0, 50.0]));
    assert_eq!(anns[0]["area"], 5000.0);
    // YOLO: a tar archive, read with a reader that knows only the ustar header layout.
    let e = export(&admin, task, json!({"format": "yolo"})).await;
    assert_eq!(e["format"], "yolo");
    let files = untar(&download(&admin, &e["id"]).await);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let (i1, i2) = (
        images[0]["id"].as_i64().unwrap(),
        images[1]["id"].as_i64().unwrap(),
    );
    let (l1, l2) = (
        format!("labels/train/item-{i1}.txt"),
        format!("labels/train/item-{i2}.txt"),
    );
    assert_eq!(
        names,
        [
            l1.as_str(),
            l2.as_str(),
            "data.yaml",
            "images.csv",
            "skipped.csv"
        ]
    );
    // The fused box (12, 10, 100×50) on 640×480: centre (62, 35) → 0.096875, 0.072917.
    assert_eq!(files[0].1, "0 0.096875 0.072917 0.156250 0.104167\n");
    assert_eq!(files[1].1, "", "nothing to box: an empty label file");
    assert!(
        files[2]
            .1
            .contains("nc: 2\nnames:\n  0: \"car\"\n  1: \"person\"\n"),
        "{}",
        files[2].1
    );
    assert!(files[3].1.contains(&format!(
        "train,item-{i1},https://example.org/1.jpg,640,480"
    )));
    assert_eq!(files[4].1, "item_id,external_id,reason\n");
    for format in ["jsonl", "csv", "parquet", "tfrecord"] {
        let e = export(&admin, task, json!({"format": format})).await;
        assert_eq!(e["rows"], 2, "{format}");
    }
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{task}/exports"),
            &json!({"format": "conll"}),
        )
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn rater_draws_boxes_with_the_mouse() {
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let base = picture_server();
    let app = TestApp::spawn().await;
    let items = format!(
        "{{\"external_id\": \"i1\", \"image\": \"{base}/street.svg\", \"width\": 400, \"height\": 300, \"camera\": \"north\"}}\n\
         {{\"external_id\": \"i2\", \"image\": \"{base}/empty.svg\", \"width\": 400, \"height\": 300}}\n"
    );
    let (task, admin) = kind_task(&app, schema(), 1, 1, &items).await;
    rater(&app, &admin, task, "rita").await;
    let b = Browser::new().await;
    b.login(&app, "rita", PASSWORD).await;
    b.goto(&app.url(&format!("/tasks/{task}/label"))).await;
    b.wait_text("#start-button", "Start labeling").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("#item-view", "north").await;
    // Wait for the picture: the layer has its size.
    b.poll("the image to load", async |b| {
        let w = b
            .execute(
                "return document.querySelector('.box-image').naturalWidth",
                vec![],
            )
            .await;
        Ok((w.as_i64().unwrap_or(0) > 0).then_some(()))
    })
    .await;
    let rect = b
        .execute("var r = document.getElementById('box-layer').getBoundingClientRect(); return [r.width, r.height];", vec![])
        .await;
    assert_eq!(
        rect,
        json!([400, 300]),
        "shown at its own size on a desktop"
    );
    // The red rectangle (100,100)–(250,200): from centre offsets (−100,−50) to (+50,+50). Car.
    b.drag_in("#box-layer", (-100, -50), (50, 50)).await;
    b.wait_text("#box-list", "150×100 at 100,100").await;
    // The sun (290,30)–(350,90), drawn as a car, then relabeled Person with P while selected.
    b.drag_in("#box-layer", (90, -120), (150, -60)).await;
    b.press_keys("p").await;
    b.wait_text("#box-list", "person").await;
    // A stray box, selected with [ after drawing and deleted with X.
    b.drag_in("#box-layer", (-190, 100), (-150, 140)).await;
    b.wait_text("#box-list", "40×40").await;
    b.press_keys("x").await;
    b.poll("the stray box to go", async |b| {
        Ok((!b.text("#box-list").await.contains("40×40")).then_some(()))
    })
    .await;
    // Move the person box one pixel right with the arrow key after selecting it with ].
    b.press_keys("]").await;
    b.press_keys("]").await;
    b.press_keys(keys::RIGHT).await;
    b.wait_text("#box-list", "60×60 at 291,30").await;
    super::browser_shots(&b, "kinds-boxes").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("#item-view", "Item 2 of 2").await;
    b.press_keys("0").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("#done-card", "Shard complete").await;
    b.wait_text("#done-text", "Press Enter or N").await;
    b.assert_no_console_errors().await;
    b.quit().await;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.external_id, l.value_json FROM labels l JOIN items i ON i.id = l.item_id ORDER BY i.external_id",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let got: Vec<Value> = serde_json::from_str(&rows[0].1).unwrap();
    let want = [
        (100.0, 100.0, 150.0, 100.0, "car"),
        (291.0, 30.0, 60.0, 60.0, "person"),
    ];
    assert_eq!(got.len(), 2, "{got:?}");
    for (g, (x, y, w, h, l)) in got.iter().zip(want) {
        for (k, v) in [("x", x), ("y", y), ("w", w), ("h", h)] {
            assert!((g[k].as_f64().unwrap() - v).abs() <= 1.0, "{k}: {g} vs {v}");
        }
        assert_eq!(g["label"], l);
    }
    assert_eq!(rows[1].1, "[]");
    app.stop().await;
}

/// The files of a tar archive as (name, text): the ustar header's name (bytes 0..100) and octal
/// size (124..136), then the data padded to 512 bytes, until the zero blocks at the end.
fn untar(bytes: &[u8]) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut at = 0;
    while at + 512 <= bytes.len() && bytes[at..at + 512].iter().any(|b| *b != 0) {
        let h = &bytes[at..at + 512];
        let name =
            String::from_utf8(h[..100].iter().take_while(|b| **b != 0).copied().collect()).unwrap();
        let size_text = String::from_utf8(
            h[124..136]
                .iter()
                .take_while(|b| **b != 0 && **b != b' ')
                .copied()
                .collect(),
        )
        .unwrap();
        let size = usize::from_str_radix(size_text.trim(), 8).unwrap();
        let data = &bytes[at + 512..at + 512 + size];
        files.push((name, String::from_utf8(data.to_vec()).unwrap()));
        at += 512 + size.div_ceil(512) * 512;
    }
    files
}
