//! Secrets: SIP digest HA1 values, argon2 web passwords, API key secrets, random tokens.
//! Plaintext passwords never reach the database.

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use cec_sip_auth::{Algorithm, compute_ha1};
use sha2::{Digest, Sha256};

use crate::StoreError;

/// HA1 values of a SIP user for both digest algorithms we offer.
pub fn sip_ha1_pair(user: &str, realm: &str, password: &str) -> (String, String) {
    (
        compute_ha1(Algorithm::Md5, user, realm, password)
            .as_str()
            .to_owned(),
        compute_ha1(Algorithm::Sha256, user, realm, password)
            .as_str()
            .to_owned(),
    )
}

/// An argon2id hash (PHC string) of a web password.
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::invalid("password", format!("cannot be hashed: {e}")))
}

/// Whether `password` matches an argon2 PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// `n` random bytes from the OS, hex encoded.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 random bytes from the OS.
pub fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    key
}

/// SHA-256 hex of an API secret. Secrets are 256-bit random values, so a fast hash is enough
/// (nothing to brute-force); only the hash is stored.
pub fn hash_api_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Constant-time equality of two strings.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Checks the strength rules for a password (also used for SIP passwords): 8..=64
/// characters with at least three of lower case, upper case, digits and other characters.
pub fn password_problem(password: &str) -> Option<String> {
    let len = password.chars().count();
    if !(8..=64).contains(&len) {
        return Some(format!("must be 8 to 64 characters long (is {len})"));
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|&&c| c).count() < 3 {
        return Some("needs three of: lower case, upper case, digits, other characters".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_round_trip_and_rejects_wrong_password() {
        let phc = hash_password("Secret-123").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("Secret-123", &phc));
        assert!(!verify_password("Secret-124", &phc));
        assert!(!verify_password("Secret-123", "not a phc string"));
    }

    #[test]
    fn ha1_matches_rfc_2617_definition() {
        // MD5("Mufasa:testrealm@host.com:Circle Of Life"), RFC 2617 §3.5.
        let (md5, sha) = sip_ha1_pair("Mufasa", "testrealm@host.com", "Circle Of Life");
        assert_eq!(md5, "939e7578ed9e3c518a452acee763bce9");
        assert_eq!(sha.len(), 64);
    }

    #[test]
    fn password_rules() {
        assert!(password_problem("short1A").is_some());
        assert!(password_problem("alllowercase").is_some());
        assert!(password_problem("Lower-and-1").is_none());
        assert!(password_problem("abcDEF123").is_none());
    }

    #[test]
    fn api_secret_hash_is_hex_sha256() {
        assert_eq!(
            hash_api_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
        assert_eq!(random_hex(16).len(), 32);
    }
}
