//! Argon2id password hashing, always off the async threads and with a concurrency cap, so a flood
//! of logins cannot starve other requests.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::AppError;

/// Hashes and verifies passwords. Cheap to clone.
#[derive(Clone)]
pub struct Hasher {
    pepper: Option<Arc<[u8]>>,
    permits: Arc<Semaphore>,
}

impl Hasher {
    /// A hasher with an optional pepper (kept outside the database) and at most `concurrency`
    /// hashes running at once.
    pub fn new(pepper: Option<&str>, concurrency: usize) -> Self {
        Hasher {
            pepper: pepper.map(|p| Arc::from(p.as_bytes())),
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    fn argon2(pepper: Option<&[u8]>) -> Result<Argon2<'_>, AppError> {
        // Params::DEFAULT is m=19456 KiB, t=2, p=1: the OWASP minimum for Argon2id.
        match pepper {
            Some(p) => {
                Argon2::new_with_secret(p, Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
                    .map_err(AppError::internal)
            }
            None => Ok(Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::DEFAULT,
            )),
        }
    }

    /// Hashes a password into a PHC string with a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let pepper = self.pepper.clone();
        tokio::task::spawn_blocking(move || {
            let argon = Self::argon2(pepper.as_deref())?;
            argon
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(AppError::internal)
        })
        .await?
    }

    /// Checks a password against a stored hash. With no stored hash (unknown user, or a user who
    /// has not set a password yet) it checks against a dummy hash, so both paths take the same time.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let pepper = self.pepper.clone();
        tokio::task::spawn_blocking(move || {
            let argon = Self::argon2(pepper.as_deref())?;
            let (hash, real) = match stored {
                Some(h) => (h, true),
                None => (dummy_hash().to_string(), false),
            };
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return Ok(false);
            };
            Ok(argon.verify_password(password.as_bytes(), &parsed).is_ok() && real)
        })
        .await?
    }
}

/// A real Argon2id hash of a random password, made once, for the unknown-user path.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT);
        argon
            .hash_password(crate::auth::secret::new_token().as_bytes())
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_is_argon2id_with_unique_salts_and_verifies() {
        let h = Hasher::new(None, 2);
        let a = h.hash("correct horse battery".into()).await.unwrap();
        let b = h.hash("correct horse battery".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b);
        assert!(
            h.verify("correct horse battery".into(), Some(a.clone()))
                .await
                .unwrap()
        );
        assert!(
            !h.verify("correct horse batterx".into(), Some(a.clone()))
                .await
                .unwrap()
        );
        assert!(!h.verify("anything at all".into(), None).await.unwrap());
        // No truncation: a 100-character password and the same plus one are different.
        let long = "x".repeat(100);
        let hl = h.hash(long.clone()).await.unwrap();
        assert!(!h.verify(format!("{long}y"), Some(hl)).await.unwrap());
        // A pepper changes the hash: the pepper is needed to verify.
        let peppered = Hasher::new(Some("pepper"), 1);
        let hp = peppered.hash("correct horse battery".into()).await.unwrap();
        assert!(
            peppered
                .verify("correct horse battery".into(), Some(hp.clone()))
                .await
                .unwrap()
        );
        assert!(
            !h.verify("correct horse battery".into(), Some(hp))
                .await
                .unwrap()
        );
    }
}
