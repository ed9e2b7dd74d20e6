//! Password policy (OWASP ASVS 2.1): 12 to 128 characters, any Unicode, no composition rules,
//! no truncation, and not one of the most common passwords.

/// Shortest accepted password, in characters.
pub const MIN_CHARS: usize = 12;
/// Longest accepted password, in characters.
pub const MAX_CHARS: usize = 128;

/// A small list of the most breached passwords of 12 characters or more. Checked case-insensitively.
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789123",
    "1234567891011",
    "password1234",
    "password12345",
    "password123456",
    "passwordpassword",
    "qwertyuiopas",
    "qwertyuiop123",
    "qwerty123456",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "zaq12wsxcde3",
    "iloveyou1234",
    "aaaaaaaaaaaa",
    "111111111111",
    "000000000000",
    "abcdefghijkl",
    "abc123456789",
    "administrator",
    "adminadmin12",
    "letmein12345",
    "welcome12345",
    "changeme1234",
    "correcthorsebatterystaple",
    "trustno1trustno1",
    "football1234",
    "baseball1234",
    "superman1234",
    "monkey123456",
    "dragon123456",
    "sunshine1234",
    "princess1234",
    "qwertyqwerty",
    "asdfghjkl123",
    "passw0rd1234",
    "p@ssw0rd1234",
    "quorumquorum",
    "quorum123456",
    "labeling1234",
];

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
    if COMMON.contains(&lower.as_str()) {
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
}
