//! Pipeline layouts: TFX ExampleGen and Hugging Face folders, one per split, read back with
//! independent readers (tarfile, gzip, the standard-library TFRecord reader, pyarrow) and
//! compared with a plain JSONL snapshot of the same settings.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{download, export, labeled_task, python};
use crate::parts::{Part, have};
use crate::support::*;

/// item id → (split, label) of a JSONL snapshot.
fn jsonl_rows(bytes: &[u8]) -> BTreeMap<i64, (String, String)> {
    std::str::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["item_id"].as_i64().unwrap(),
                (
                    v["split"].as_str().unwrap().to_string(),
                    v["label"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

fn read_layout(bytes: &[u8]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layout.tar");
    std::fs::write(&path, bytes).unwrap();
    python("read_layout.py", &path)
}

#[tokio::test]
async fn tfx_and_hf_layouts_hold_one_folder_per_split_and_the_same_rows() {
    let app = TestApp::spawn().await;
    let (task, admin) = labeled_task(&app, 40).await;
    let splits = json!({"train": 0.5, "validation": 0.25, "test": 0.25, "seed": 7});
    let plain = export(&admin, task, json!({"format": "jsonl", "splits": splits})).await;
    let expected = jsonl_rows(&download(&admin, &plain["id"]).await);
    assert_eq!(expected.len(), 40);

    // A layout that does not hold the format is refused, naming the field; nothing is made.
    let before = app.count("SELECT COUNT(*) FROM exports").await;
    for (body, why) in [
        (json!({"format": "csv", "layout": "hf"}), "layout: hf"),
        (json!({"format": "parquet", "layout": "tfx"}), "layout: tfx"),
        (
            json!({"format": "tfrecord", "layout": "zip"}),
            "is not one of tfx, hf",
        ),
    ] {
        let res = admin
            .post_json(&format!("/api/v1/tasks/{task}/exports"), &body)
            .await;
        assert_eq!(res.status(), 400, "{body}");
        let text = res.text().await.unwrap();
        assert!(text.contains(why), "{body}: {text}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM exports").await, before);

    // TFX: Split-train / Split-eval / Split-test, gzip TFRecord, schema and statistics.
    let made = export(
        &admin,
        task,
        json!({"format": "tfrecord", "layout": "tfx", "splits": splits}),
    )
    .await;
    assert_eq!(made["format"], "tfrecord");
    let res = admin
        .get(&format!("/api/v1/exports/{}/download", made["id"]))
        .await;
    assert_eq!(res.headers()["content-type"], "application/x-tar");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with(".tfx.tfrecord.tar\"")
    );
    let members = read_layout(&res.bytes().await.unwrap());
    let files: Vec<&str> = members
        .iter()
        .map(|m| m["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "Split-train/data_tfrecord-00000-of-00001.gz",
            "Split-eval/data_tfrecord-00000-of-00001.gz",
            "Split-test/data_tfrecord-00000-of-00001.gz",
            "schema/schema.pbtxt",
            "statistics/statistics.pbtxt"
        ]
    );
    let mut got = BTreeMap::new();
    for (m, split) in members.iter().zip(["train", "validation", "test"]) {
        for r in m["rows"].as_array().unwrap() {
            let id = r["item_id"]["int64"][0].as_i64().unwrap();
            assert_eq!(
                r["split"]["bytes"][0], split,
                "item {id} is in its split's folder"
            );
            got.insert(
                id,
                (
                    split.to_string(),
                    r["label"]["bytes"][0].as_str().unwrap().to_string(),
                ),
            );
        }
    }
    assert_eq!(got, expected);
    let schema = members[3]["text"].as_str().unwrap();
    assert!(schema.contains(
        "feature {\n  name: \"label\"\n  type: BYTES\n  domain: \"label\"\n  presence {\n    min_fraction: 1.0"
    ));
    assert!(
        schema
            .contains("string_domain {\n  name: \"label\"\n  value: \"pos\"\n  value: \"neg\"\n}")
    );
    let stats = members[4]["text"].as_str().unwrap();
    for (split, name) in [("train", "train"), ("validation", "eval"), ("test", "test")] {
        let n = expected.values().filter(|(s, _)| s == split).count();
        assert!(
            stats.contains(&format!("name: \"{name}\"\n  num_examples: {n}\n")),
            "{name}: {n}"
        );
    }

    // Hugging Face: data/<split>-….jsonl and parquet, and the README's split map.
    let mut formats = vec!["jsonl"];
    if have(Part::Pyarrow, "reading Parquet layouts back with pyarrow") {
        formats.push("parquet");
    }
    for format in formats {
        let made = export(
            &admin,
            task,
            json!({"format": format, "layout": "hf", "splits": splits}),
        )
        .await;
        let members = read_layout(&download(&admin, &made["id"]).await);
        let files: Vec<&str> = members
            .iter()
            .map(|m| m["file"].as_str().unwrap())
            .collect();
        let data = |s: &str| format!("data/{s}-00000-of-00001.{format}");
        assert_eq!(
            files,
            [
                &data("train"),
                &data("validation"),
                &data("test"),
                "README.md"
            ]
        );
        let mut got = BTreeMap::new();
        for (m, split) in members.iter().zip(["train", "validation", "test"]) {
            for r in m["rows"].as_array().unwrap() {
                assert_eq!(r["split"], split);
                got.insert(
                    r["item_id"].as_i64().unwrap(),
                    (split.to_string(), r["label"].as_str().unwrap().to_string()),
                );
            }
        }
        assert_eq!(got, expected, "{format}");
        let readme = members[3]["text"].as_str().unwrap();
        assert!(
            readme.starts_with(&format!(
                "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: {}\n",
                data("train")
            )),
            "{readme}"
        );
    }
}
