//! Password policy (OWASP ASVS 2.1): 12 to 128 characters, any Unicode, no composition rules,
//! no truncation, and not one of the most common passwords.

use std::collections::HashSet;
use std::io::Read;
use std::sync::OnceLock;

use flate2::read::GzDecoder;

/// Shortest accepted password, in characters.
pub const MIN_CHARS: usize = 12;
/// Longest accepted password, in characters.
pub const MAX_CHARS: usize = 128;

/// The 100,000 most common passwords of a published breach corpus (see
/// `common_passwords/README.md`), gzip-compressed, one a line.
const TOP_100K_GZ: &[u8] = include_bytes!("common_passwords/top-100000.txt.gz");

/// A few more that the breach list lacks but an attacker of this server would try first.
const EXTRA: &[&str] = &[
    "correcthorsebatterystaple",
    "iloveyou1234",
    "quorumquorum",
    "quorum123456",
    "labeling1234",
    "adminadmin12",
    "changeme1234",
    "trustno1trustno1",
];

/// The lowercased common passwords that the length policy would otherwise accept, decoded once.
fn common() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        let mut text = Vec::new();
        // The list is compiled in: a failure here is a broken build, and leaves only `EXTRA`.
        if let Err(e) = GzDecoder::new(TOP_100K_GZ).read_to_end(&mut text) {
            tracing::error!(%e, "the common-password list cannot be decoded");
        }
        String::from_utf8_lossy(&text)
            .lines()
            .chain(EXTRA.iter().copied())
            .map(|p| p.trim_end_matches('\r').to_lowercase())
            .filter(|p| (MIN_CHARS..=MAX_CHARS).contains(&p.chars().count()))
            .collect()
    })
}

/// How many common passwords the check knows (those of a length the policy would accept).
pub fn common_count() -> usize {
    common().len()
}

/// Why a password was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort,
    TooLong,
    Common,
}

impl std::fmt::Display for PasswordProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordProblem::TooShort => {
                write!(f, "the password must have at least {MIN_CHARS} characters")
            }
            PasswordProblem::TooLong => {
                write!(f, "the password must have at most {MAX_CHARS} characters")
            }
            PasswordProblem::Common => f.write_str("this password is too common; choose another"),
        }
    }
}

/// Checks a new password against the policy. Cheap: runs before any hashing.
pub fn check(password: &str) -> Result<(), PasswordProblem> {
    // Counting stops early so a megabyte of input costs nothing.
    let n = password.chars().take(MAX_CHARS + 1).count();
    if n < MIN_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    if n > MAX_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    let lower = password.to_lowercase();
    if common().contains(&lower) {
        return Err(PasswordProblem::Common);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(check(&"a".repeat(11)), Err(PasswordProblem::TooShort));
        assert!(check(&"ab".repeat(6)).is_ok());
        assert!(check(&"xy".repeat(32)).is_ok());
        assert!(check(&"xy".repeat(64)).is_ok());
        assert_eq!(check(&"x".repeat(129)), Err(PasswordProblem::TooLong));
        assert_eq!(check(&"x".repeat(1 << 20)), Err(PasswordProblem::TooLong));
    }

    #[test]
    fn unicode_counts_characters_and_common_is_refused() {
        assert!(check("pässwörd 🙂 with spaces").is_ok());
        // 11 characters but more than 12 bytes: still too short.
        assert_eq!(check("ääääääääääă"), Err(PasswordProblem::TooShort));
        assert_eq!(check("Password1234"), Err(PasswordProblem::Common));
    }

    #[test]
    fn the_breach_list_is_loaded() {
        // 489 entries of the top 100,000 have 12 to 128 characters, plus the extras.
        assert!(common_count() > 480, "{}", common_count());
        for p in [
            "123456789012",
            "qwertyuiop123",
            "1q2w3e4r5t6y",
            "QWERTYQWERTY",
            "password1234",
            "quorumquorum",
        ] {
            assert_eq!(check(p), Err(PasswordProblem::Common), "{p}");
        }
        assert!(check("violet-tractor-harbour-1987").is_ok());
        assert!(check("Tr0ub4dor&3-horse-staple").is_ok());
    }
}
