//! Usernames: 3 to 32 characters of lowercase letters, digits, `.`, `_` and `-`, starting with a
//! letter or digit. Stored lowercased, so `Alice` and `alice` are one account.

/// A checked username.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Username, String> {
        let s = raw.trim().to_lowercase();
        let n = s.chars().count();
        if !(3..=32).contains(&n) {
            return Err("a username has 3 to 32 characters".into());
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        {
            return Err("a username may hold only letters a-z, digits, '.', '_' and '-'".into());
        }
        if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err("a username starts with a letter or a digit".into());
        }
        Ok(Username(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Username;

    #[test]
    fn accepts_and_normalises() {
        assert_eq!(Username::parse(" Alice.B ").unwrap().as_str(), "alice.b");
        assert!(Username::parse("r2").is_err());
        assert!(Username::parse(&"a".repeat(33)).is_err());
        assert!(Username::parse("_lead").is_err());
        assert!(Username::parse("a b c").is_err());
        assert!(Username::parse("x\n[INFO] admin logged in").is_err());
        assert!(Username::parse("<script>").is_err());
    }
}
