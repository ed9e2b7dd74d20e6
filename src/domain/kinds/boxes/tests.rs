//! The boxes kind on hand-worked cases (the same as docs/label-kinds.md).

use serde_json::json;

use super::*;

fn spec() -> BoxesSpec {
    let s: BoxesSpec = serde_json::from_value(json!({"labels": [
        {"value": "car", "label": "Car", "hotkey": "c"}, {"value": "person", "label": "Person", "hotkey": "p"}]}))
    .unwrap();
    s.check().unwrap();
    s
}

fn bx(x: f64, y: f64, w: f64, h: f64, label: &str) -> Bbox {
    Bbox {
        x,
        y,
        w,
        h,
        label: label.into(),
    }
}

#[test]
fn values_are_checked_against_the_schema_and_the_image() {
    let s = spec();
    assert_eq!(
        s.check_value(&json!([{"x": 10, "y": 20.333, "w": 100, "h": 50, "label": "car"}]))
            .unwrap(),
        json!([{"x": 10.0, "y": 20.33, "w": 100.0, "h": 50.0, "label": "car"}])
    );
    assert_eq!(s.check_value(&json!([])).unwrap(), json!([]));
    // Half a pixel left of the edge is clamped (the box keeps its right edge).
    assert_eq!(
        s.check_value(&json!([{"x": -0.5, "y": 0, "w": 10, "h": 10, "label": "car"}]))
            .unwrap(),
        json!([{"x": 0.0, "y": 0.0, "w": 9.5, "h": 10.0, "label": "car"}])
    );
    for (bad, why) in [
        (json!({"x": 1}), "a list"),
        (
            json!([{"x": 0, "y": 0, "w": 0, "h": 5, "label": "car"}]),
            "above 0",
        ),
        (
            json!([{"x": 0, "y": 0, "w": -5, "h": 5, "label": "car"}]),
            "above 0",
        ),
        (
            json!([{"x": -20, "y": 0, "w": 5, "h": 5, "label": "car"}]),
            "negative",
        ),
        (
            json!([{"x": 0, "y": 0, "w": "5", "h": 5, "label": "car"}]),
            "w must be",
        ),
        (
            json!([{"x": 0, "y": 0, "w": 5, "h": 5, "label": "bus"}]),
            "not one of",
        ),
        (
            json!([{"x": 0, "y": 0, "w": 5, "h": 5, "label": "car", "score": 1}]),
            "unknown field",
        ),
    ] {
        let e = s.check_value(&bad).unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
    }
    let img = json!({"image": "https://x/y.jpg", "width": 640, "height": 480});
    s.check_image(
        &json!([{"x": 600, "y": 400, "w": 40, "h": 80, "label": "car"}]),
        &img,
    )
    .unwrap();
    let e = s
        .check_image(
            &json!([{"x": 600, "y": 400, "w": 50, "h": 80, "label": "car"}]),
            &img,
        )
        .unwrap_err();
    assert!(e.contains("past the image (640×480"), "{e}");
    // Without a size, only the shape is checked.
    s.check_image(
        &json!([{"x": 6000, "y": 0, "w": 5, "h": 5, "label": "car"}]),
        &json!({}),
    )
    .unwrap();
}

/// docs/label-kinds.md: (0,0,10,10) and (5,0,10,10) share 50 of 150 pixels: IoU 1/3;
/// (0,0,10,10) and (1,1,10,10) share 81 of 119: IoU 0.681.
#[test]
fn iou_by_hand() {
    let a = bx(0.0, 0.0, 10.0, 10.0, "car");
    assert!((a.iou(&bx(5.0, 0.0, 10.0, 10.0, "car")) - 1.0 / 3.0).abs() < 1e-12);
    assert!((a.iou(&bx(1.0, 1.0, 10.0, 10.0, "car")) - 81.0 / 119.0).abs() < 1e-12);
    assert_eq!(a.iou(&bx(10.0, 0.0, 5.0, 5.0, "car")), 0.0);
}

#[test]
fn hungarian_finds_the_least_total_cost() {
    // The textbook 3×3 example: rows → columns 1, 0, 2, total 1 + 2 + 2 = 5.
    let c = vec![
        vec![4.0, 1.0, 3.0],
        vec![2.0, 0.0, 5.0],
        vec![3.0, 2.0, 2.0],
    ];
    assert_eq!(hungarian(&c), vec![1, 0, 2]);
    // Greedy would take the 0.1 and then pay 1.0; the best is 0.2 + 0.3.
    assert_eq!(hungarian(&[vec![0.1, 0.2], vec![0.3, 1.0]]), vec![1, 0]);
    // More columns than rows.
    assert_eq!(hungarian(&[vec![5.0, 1.0, 7.0]]), vec![1]);
    assert!(hungarian(&[]).is_empty());
}

/// docs/label-kinds.md: A = car (0,0,10,10); B = car (1,1,10,10), car (50,50,5,5). One match
/// (IoU 0.681 ≥ 0.5): F1 = 2·1/(1+2) = 2/3, mean IoU 0.681.
#[test]
fn f1_at_iou_half_and_mean_iou() {
    let a = vec![bx(0.0, 0.0, 10.0, 10.0, "car")];
    let b = vec![
        bx(1.0, 1.0, 10.0, 10.0, "car"),
        bx(50.0, 50.0, 5.0, 5.0, "car"),
    ];
    let items = [vec![a.clone(), b.clone()]];
    let (f1, mean, ious) = agreement(items.iter().map(Vec::as_slice));
    assert!((f1.unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert!((mean.unwrap() - 81.0 / 119.0).abs() < 1e-12);
    assert_eq!(ious.len(), 1);
    // Another label, or IoU below 0.5, does not match.
    assert!(match_boxes(&a, &[bx(1.0, 1.0, 10.0, 10.0, "person")]).is_empty());
    assert!(match_boxes(&a, &[bx(5.0, 0.0, 10.0, 10.0, "car")]).is_empty());
}

/// docs/label-kinds.md: three raters box the same car a little apart, one also boxes a person.
/// The car (3/3) is kept as the mean box; the person (1/3 < 0.5) is dropped; confidence 2/3.
#[test]
fn resolution_fuses_matched_boxes() {
    let car = |x: f64, y: f64| json!({"x": x, "y": y, "w": 100, "h": 50, "label": "car"});
    let person = json!({"x": 300, "y": 300, "w": 20, "h": 40, "label": "person"});
    let v = [
        json!([car(10.0, 10.0)]),
        json!([car(12.0, 10.0)]),
        json!([car(10.0, 12.0), person]),
    ];
    match decide(&v, 0.5, 3, 5) {
        Decision::Resolved {
            value,
            method,
            confidence,
            ..
        } => {
            assert_eq!(
                value,
                json!([{"x": 10.67, "y": 10.67, "w": 100.0, "h": 50.0, "label": "car"}])
            );
            assert_eq!(method, "majority");
            assert!((confidence - 2.0 / 3.0).abs() < 1e-12);
        }
        other => panic!("{other:?}"),
    }
    // At threshold 0.6 a box one of two raters drew is a conflict.
    assert!(matches!(
        decide(&[json!([car(0.0, 0.0)]), json!([])], 0.6, 2, 3),
        Decision::MoreLabels { .. }
    ));
    // Nothing to box, by everyone.
    assert!(matches!(
        decide(&[json!([]), json!([])], 0.5, 2, 2),
        Decision::Resolved {
            method: "unanimous",
            ..
        }
    ));
}
