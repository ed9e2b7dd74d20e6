//! Random tokens and their stored form.
//!
//! Every secret the server hands out (session ids, invite and reset tokens, API tokens) is 32
//! bytes from the operating system's generator, base64url-encoded; only its sha256 is stored, so a
//! copy of the database opens no door.

use base64::Engine;
use sha2::{Digest, Sha256};

/// A fresh random token: 256 bits, base64url without padding (43 characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    // The OS generator failing means the machine cannot make secrets at all: nothing to recover.
    if getrandom::fill(&mut bytes).is_err() {
        panic!("the operating system's random generator failed");
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_unique_and_urlsafe() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let t = new_token();
            assert_eq!(t.len(), 43);
            assert!(
                t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            );
            assert!(seen.insert(t));
        }
        assert_eq!(hash_token("abc").len(), 64);
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
