//! Safe handling of the `next` parameter after login, so it can never become an open redirect.

/// Returns `next` when it is a same-origin path: it starts with a single `/` that is not followed
/// by `/` or `\`, after percent-decoding, and holds no control characters. Anything else is `/`.
pub fn safe_next(next: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(next).decode_utf8_lossy();
    let ok = |s: &str| {
        s.starts_with('/')
            && !s.starts_with("//")
            && !s.starts_with("/\\")
            && !s.chars().any(|c| c.is_control() || c == '\\')
            && s.len() <= 2048
    };
    if ok(next) && ok(&decoded) {
        next.to_string()
    } else {
        "/".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn rejects_every_offsite_form() {
        for bad in [
            "https://evil.com",
            "//evil.com",
            "/\\evil.com",
            "\\/evil.com",
            "/%2F%2Fevil.com",
            "/%2f%2fevil.com",
            "/%5Cevil.com",
            "http:/evil.com",
            "javascript:alert(1)",
            "%0d%0aLocation:%20https://evil.com",
            "/ok%0d%0aSet-Cookie:x=1",
            "",
            "evil.com",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad}");
        }
        assert_eq!(safe_next("/ok"), "/ok");
        assert_eq!(safe_next("/tasks/3?x=1"), "/tasks/3?x=1");
    }
}
