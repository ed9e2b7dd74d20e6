//! CSV input: the dialect, errors that name their line, gold files, and garbage that must never
//! panic.

use std::collections::HashMap;
use std::io::Cursor;

use super::{ALL, Rng, answers, check_invariants};
use crate::domain::aggregate::{Answers, Options, accuracy, aggregate};

#[test]
fn csv_garbage_never_panics() {
    let mut rng = Rng(5);
    let alphabet = b"ab,\"\r\n \t\xef\xbb\xbf\xff1";
    for _ in 0..2000 {
        let mut bytes = b"item,worker,label\n".to_vec();
        for _ in 0..rng.next() % 40 {
            bytes.push(alphabet[(rng.next() % alphabet.len() as u64) as usize]);
        }
        if let Ok(a) = Answers::from_csv_reader(Cursor::new(&bytes)) {
            for m in ALL {
                let out = aggregate(&a, m, &HashMap::new(), &Options::default()).unwrap();
                check_invariants(&a, &out);
            }
        }
        let mut a = Answers::new();
        let _ = a.read_gold_csv(Cursor::new(&bytes[5..]));
    }
}

#[test]
fn csv_dialect() {
    let text = concat!(
        "\u{feff}Label, item ,worker,extra\r\n",
        "\"a,b\",\"x \"\"1\"\"\",w1,zz\r\n",
        "\r\n",
        "  b , y,w2,\n"
    );
    let a = Answers::from_csv_reader(Cursor::new(text)).unwrap();
    assert_eq!(a.class_names().collect::<Vec<_>>(), ["a,b", "b"]);
    assert_eq!(a.item_names().collect::<Vec<_>>(), ["x \"1\"", "y"]);
    assert_eq!(a.worker_names().collect::<Vec<_>>(), ["w1", "w2"]);
    assert_eq!(a.item_name(1), Some("y"));
    assert_eq!(a.item_name(2), None);
    assert_eq!(a.len(), 2);
}

#[test]
fn csv_errors_name_the_line() {
    let cases = [
        ("", 1, "empty input"),
        ("item,worker\n", 1, "\"label\" is missing"),
        ("item,worker,label,item\n", 1, "twice"),
        ("item,worker,label\na,b,c\na,b\n", 3, "expected 3 fields"),
        ("item,worker,label\na,b,c\n\n\"a,b,c\n", 4, "unterminated"),
        (
            "item,worker,label\n\"a\"x,b,c\n",
            2,
            "after a closing quote",
        ),
        ("item,worker,label\na,,c\n", 2, "empty worker"),
    ];
    for (text, line, needle) in cases {
        let e = Answers::from_csv_reader(Cursor::new(text)).unwrap_err();
        assert_eq!(e.line, line, "{text:?}: {e}");
        assert!(e.message.contains(needle), "{text:?}: {e}");
    }
    let bad_utf8: &[u8] = b"item,worker,label\na,b,\xff\n";
    let e = Answers::from_csv_reader(Cursor::new(bad_utf8)).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("UTF-8"));
}

#[test]
fn gold_csv() {
    let mut a = answers(&[("i", "w", "a"), ("j", "w", "b")]);
    let gold = a
        .read_gold_csv(Cursor::new(
            "item,label\ni,b\nnot-answered,a\nj,new\nj,new\n",
        ))
        .unwrap();
    assert_eq!(gold.len(), 2);
    assert_eq!(gold[&0], 1);
    assert_eq!(a.n_classes(), 3);
    let e = a
        .read_gold_csv(Cursor::new("item,label\ni,a\ni,b\n"))
        .unwrap_err();
    assert_eq!(e.line, 3);
    assert_eq!(accuracy(&[Some(1), None], &gold), Some(0.5));
    assert_eq!(accuracy(&[], &HashMap::new()), None);
}
