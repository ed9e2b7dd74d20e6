//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP, HMAC-SHA1, 30-second steps,
//! six digits: what every authenticator app speaks), the base32 form apps read, and the
//! `otpauth://` URI their QR codes carry. Pure: the caller passes the time.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;

/// HOTP (RFC 4226): the `digits`-digit code of `secret` at `counter`.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return 0;
    };
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    bin % 10u32.pow(digits)
}

/// The step a unix time (milliseconds) falls in.
pub fn step_at(now_ms: i64) -> i64 {
    now_ms.div_euclid(1000).div_euclid(STEP_SECS)
}

/// The six-digit code of `secret` at `step`, zero-padded.
pub fn code_at(secret: &[u8], step: i64) -> String {
    format!(
        "{:0width$}",
        hotp(secret, step.max(0) as u64, DIGITS),
        width = DIGITS as usize
    )
}

/// Checks `code` (spaces ignored) against the steps around `now_ms` (one either side, for clock
/// drift) that come after `last_step` (a code is good once). Returns the matching step.
pub fn verify(secret: &[u8], code: &str, now_ms: i64, last_step: Option<i64>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(now_ms);
    (now - 1..=now + 1)
        .filter(|s| last_step.is_none_or(|l| *s > l))
        .find(|s| crate::domain::totp::eq(code_at(secret, *s).as_bytes(), code.as_bytes()))
}

fn eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps take a secret.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The `otpauth://totp/…` URI of a secret, for QR codes and apps that take a link.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let issuer_enc = utf8_percent_encode(issuer, NON_ALPHANUMERIC);
    let account_enc = utf8_percent_encode(account, NON_ALPHANUMERIC);
    format!(
        "otpauth://totp/{issuer_enc}:{account_enc}?secret={}&issuer={issuer_enc}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        base32(secret)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 column (eight digits, the RFC's 20-byte ASCII key).
    #[test]
    fn rfc6238_test_vectors() {
        let key = b"12345678901234567890";
        for (t, want) in [
            (59i64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(hotp(key, (t / STEP_SECS) as u64, 8), want, "T = {t}");
        }
    }

    /// RFC 4226 appendix D.
    #[test]
    fn rfc4226_test_vectors() {
        let key = b"12345678901234567890";
        let want = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, w) in want.iter().enumerate() {
            assert_eq!(hotp(key, counter as u64, 6), *w);
        }
    }

    #[test]
    fn verify_window_and_replay() {
        let key = b"12345678901234567890";
        let now = 1_111_111_111_000;
        let step = step_at(now);
        assert_eq!(code_at(key, step), "050471");
        assert_eq!(verify(key, "050471", now, None), Some(step));
        assert_eq!(verify(key, "050 471", now, None), Some(step));
        // Used once: not again.
        assert_eq!(verify(key, "050471", now, Some(step)), None);
        // The previous step still counts (drift), the one before not.
        assert_eq!(
            verify(key, &code_at(key, step - 1), now, None),
            Some(step - 1)
        );
        assert_eq!(verify(key, &code_at(key, step - 2), now, None), None);
        for bad in ["", "12345", "1234567", "abcdef", "０５０４７１"] {
            assert_eq!(verify(key, bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn base32_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(input.as_bytes()), want);
        }
        let uri = otpauth_uri("Quorum", "ada lovelace", b"12345678901234567890");
        assert!(uri.starts_with(
            "otpauth://totp/Quorum:ada%20lovelace?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"
        ));
    }
}
