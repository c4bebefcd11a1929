//! API keys: made at random, shown once, stored as an Argon2id hash beside a public prefix
//! that finds the row. A key looks like `kdr_<prefix>_<secret>`. Used by the server's gate,
//! by `kindred keys` and by the admin mutations.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// What every key starts with, so a leaked one is recognisable.
pub const KEY_TAG: &str = "kdr";
/// Hex digits of the public prefix.
const PREFIX_DIGITS: usize = 12;

/// A new key: the whole key (shown once) and what is stored.
pub struct GeneratedKey {
    /// The key the caller presents.
    pub key: String,
    /// Its public prefix.
    pub prefix: String,
    /// The Argon2id hash of the whole key, in PHC form.
    pub hash: String,
}

/// Why a key could not be made or checked.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Hashing failed.
    #[error("cannot hash the key: {0}")]
    Hash(String),
}

/// Makes a key: a random public prefix and a 32-byte random secret, both hex.
pub fn generate() -> Result<GeneratedKey, KeyError> {
    let prefix = kindred_engine::random_secret()[..PREFIX_DIGITS].to_owned();
    let key = format!("{KEY_TAG}_{prefix}_{}", kindred_engine::random_secret());
    let hash =
        Argon2::default().hash_password(key.as_bytes()).map_err(|error| KeyError::Hash(error.to_string()))?;
    Ok(GeneratedKey { key, prefix, hash: hash.to_string() })
}

/// The public prefix of a presented key, if it has the right shape.
pub fn prefix_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_TAG)?.strip_prefix('_')?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == PREFIX_DIGITS && !secret.is_empty()).then_some(prefix)
}

/// Whether `key` is the key `hash` was made from. Deliberately slow (Argon2id).
pub fn verify(key: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|parsed| Argon2::default().verify_password(key.as_bytes(), &parsed).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_verifies_against_its_hash_only() {
        let made = generate().unwrap();
        assert_eq!(prefix_of(&made.key), Some(made.prefix.as_str()));
        assert!(made.hash.starts_with("$argon2id$"), "{}", made.hash);
        assert!(!made.hash.contains(&made.key), "the key itself is not stored");
        assert!(verify(&made.key, &made.hash));
        let other = generate().unwrap();
        assert!(!verify(&other.key, &made.hash));
        assert!(!verify(&made.key, "not a hash"));
    }

    #[test]
    fn only_well_formed_keys_have_a_prefix() {
        assert_eq!(prefix_of("kdr_0123456789ab_secret"), Some("0123456789ab"));
        for bad in
            ["", "kdr_", "kdr_short_secret", "xyz_0123456789ab_secret", "kdr_0123456789ab_", "Bearer x"]
        {
            assert_eq!(prefix_of(bad), None, "{bad:?}");
        }
    }
}
