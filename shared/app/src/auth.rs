//! Admin authentication: argon2id passwords, HS256 JWTs, and the per-container memory of
//! which admins are still enabled.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{rand_core::OsRng, Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, Block, Params, Version};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::ports::{AdminStore, StoreError};
use edubot_domain::model::Admin;
pub use edubot_domain::team::Role;
use edubot_domain::time::{Millis, SECOND};

pub const ISSUER: &str = "edubot";
pub const AUDIENCE: &str = "edubot-admin";

/// argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane: OWASP's minimum).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with default parameters")
        .to_string()
}

/// argon2's working memory (19 MiB with the default parameters), allocated on the first
/// check and reused by every later one. Allocated afresh per check, it left the allocator
/// holding two or three copies: admin-login grew from 27 to 64 MB over 200 logins.
static WORKING_MEMORY: Mutex<Vec<Block>> = Mutex::new(Vec::new());

/// Recomputes `hash` (a PHC string: algorithm, version, parameters and salt are its own)
/// from `password` in the reused working memory; compares in constant time.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        argon2::Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let Ok(version) = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from)
    else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut memory = WORKING_MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    memory.resize(params.block_count(), Block::default());
    let mut out = [0u8; 64];
    let out = &mut out[..expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut *out, &mut memory[..])
        .is_ok()
        && Output::new(out).is_ok_and(|computed| computed == expected)
}

/// A fixed argon2id hash with the parameters of real ones. Written out rather than hashed
/// on first use, so an instance's first unknown-user sign-in costs no extra hashing and
/// takes the time every other check takes.
const UNKNOWN_USER_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$5U3lZIA+AC2zc+oRI3KOtg$S2XFjN8XDrluKm7IQn+PQk0EAGPeg5SAyMqCQo8Y0jY";

/// Verifies against [`UNKNOWN_USER_HASH`], so an unknown username costs the same time as a
/// wrong password.
pub fn burn_password_check(password: &str) {
    let _ = verify_password(password, UNKNOWN_USER_HASH);
}

/// A new, enabled account with this role and password (hashed with argon2id).
pub fn new_admin(username: &str, password: &str, role: Role) -> Admin {
    Admin {
        username: username.to_owned(),
        password_hash: hash_password(password),
        role,
        disabled: false,
        created_at: edubot_domain::time::now_ms(),
        token_version: 0,
    }
}

/// The account after setting `password`: a new account of `role` if there was none;
/// otherwise the same account (its role kept) with its password changed and its earlier
/// tokens ended — a disabled admin stays disabled.
pub fn admin_with_password(
    existing: Option<Admin>,
    username: &str,
    password: &str,
    role: Role,
) -> Admin {
    match existing {
        Some(admin) => Admin {
            password_hash: hash_password(password),
            token_version: admin.token_version + 1,
            ..admin
        },
        None => new_admin(username, password, role),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// The account's role when the token was issued: for the page to show what the role may
    /// do. Checks use the account's current role, never this.
    pub role: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// The admin's `token_version` when it was issued (0 in tokens from before versions).
    #[serde(default)]
    pub ver: u64,
}

#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Millis,
}

impl TokenService {
    pub fn with_secret(secret: &[u8], ttl: Millis) -> Self {
        // Algorithm pinned: a token claiming any other `alg` (`none` included) is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        TokenService {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    /// A token for `username`, and when it expires.
    pub fn issue(
        &self,
        username: &str,
        role: Role,
        token_version: u64,
        now: Millis,
    ) -> (String, Millis) {
        let expires_at = now + self.ttl;
        let claims = Claims {
            ver: token_version,
            sub: username.to_owned(),
            role: role.as_str().to_owned(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now / SECOND,
            exp: expires_at / SECOND,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 encoding");
        (token, expires_at)
    }

    /// The claims of a valid token: right signature and algorithm, issuer, audience, not expired.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// How long a container trusts that an admin is still enabled: a disabled admin's token
/// stops working within this time, at one read per admin per container per period.
pub const ADMIN_RECHECK: Duration = Duration::from_secs(60);

/// Who is calling: an admin whose token is still current, with the account's role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub admin: String,
    pub role: Role,
    pub token_version: u64,
}

impl Session {
    pub fn is_supervisor(&self) -> bool {
        self.role == Role::Supervisor
    }
}

/// An admin's token version and role as last read; None when disabled or gone.
type Access = Option<(u64, Role)>;

/// Remembers, per container, each admin's access when last read, and when.
#[derive(Default)]
pub struct AdminGate {
    checked: Mutex<HashMap<String, (Access, Instant)>>,
}

impl AdminGate {
    /// The session of a token of `username` at `token_version`, if it still works: the
    /// admin exists, is enabled, and has not moved their version on since (a password
    /// change, disabling). The role is the account's, read with the version.
    pub async fn session(
        &self,
        store: &impl AdminStore,
        username: &str,
        token_version: u64,
    ) -> Result<Option<Session>, StoreError> {
        let cached = self
            .checked
            .lock()
            .expect("gate lock")
            .get(username)
            .filter(|(_, at)| at.elapsed() < ADMIN_RECHECK)
            .map(|(version, _)| *version);
        let current = match cached {
            Some(version) => version,
            None => {
                let version = store
                    .admin_access(username)
                    .await?
                    .filter(|a| !a.disabled)
                    .map(|a| (a.token_version, a.role));
                self.checked
                    .lock()
                    .expect("gate lock")
                    .insert(username.to_owned(), (version, Instant::now()));
                version
            }
        };
        Ok(current
            .filter(|(version, _)| *version == token_version)
            .map(|(_, role)| Session {
                admin: username.to_owned(),
                role,
                token_version,
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_a_password_changes_only_the_password() {
        let mut disabled = new_admin("jane", "the first password", Role::Supervisor);
        disabled.disabled = true;
        disabled.created_at = 42;
        let reset = admin_with_password(
            Some(disabled.clone()),
            "jane",
            "a second password",
            Role::Admin,
        );
        assert!(reset.disabled, "a reset never re-enables");
        assert_eq!(reset.role, Role::Supervisor, "a reset keeps the role");
        assert_eq!(reset.created_at, 42);
        assert!(verify_password("a second password", &reset.password_hash));
        assert!(!verify_password("the first password", &reset.password_hash));
        let created = admin_with_password(None, "john", "john's own password", Role::Admin);
        assert_eq!(created.role, Role::Admin);
        assert!(!created.disabled);
        assert_eq!(created.username, "john");
    }

    #[test]
    fn the_unknown_user_check_costs_what_a_real_check_costs() {
        // The same algorithm, version and parameters as the hashes accounts get.
        let real = hash_password("a real password");
        let params = |phc: &str| phc.rsplitn(3, '$').nth(2).map(str::to_owned);
        assert_eq!(params(UNKNOWN_USER_HASH), params(&real));
        assert!(verify_password("not-a-real-password", UNKNOWN_USER_HASH));
        assert!(!verify_password("anything else", UNKNOWN_USER_HASH));
    }

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn service() -> TokenService {
        TokenService::with_secret(SECRET, 3600 * SECOND)
    }

    fn now() -> Millis {
        edubot_domain::time::now_ms()
    }

    #[test]
    fn issued_tokens_verify() {
        let (token, expires_at) = service().issue("admin", Role::Admin, 0, now());
        let claims = service().verify(&token).expect("valid");
        assert_eq!(claims.sub, "admin");
        assert_eq!(claims.exp, expires_at / SECOND);
    }

    #[test]
    fn tampered_tokens_fail() {
        let (token, _) = service().issue("admin", Role::Admin, 0, now());
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        // Re-encode the payload with another subject, keeping the signature.
        let forged = r#"{"sub":"root","role":"admin","iss":"edubot","aud":"edubot-admin","iat":1,"exp":9999999999}"#;
        parts[1] = base64url(forged.as_bytes());
        assert!(service().verify(&parts.join(".")).is_none());
        let mut flipped = token.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == 'A' { 'B' } else { 'A' });
        assert!(service().verify(&flipped).is_none());
        assert!(service().verify("not.a.token").is_none());
        assert!(service().verify("").is_none());
    }

    #[test]
    fn other_secrets_issuers_audiences_and_expired_tokens_fail() {
        let other = TokenService::with_secret(b"another-secret-another-secret-xx", 3600 * SECOND);
        let (token, _) = other.issue("admin", Role::Admin, 0, now());
        assert!(service().verify(&token).is_none());
        let (expired, _) = service().issue("admin", Role::Admin, 0, now() - 2 * 3600 * SECOND);
        assert!(service().verify(&expired).is_none());
        let claims = Claims {
            sub: "admin".into(),
            role: "admin".into(),
            iss: "someone-else".into(),
            aud: AUDIENCE.into(),
            iat: 0,
            exp: now() / SECOND + 3600,
            ver: 0,
        };
        let wrong_iss = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(service().verify(&wrong_iss).is_none());
        let claims = Claims {
            iss: ISSUER.into(),
            aud: "another-app".into(),
            ..claims
        };
        let wrong_aud = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(service().verify(&wrong_aud).is_none());
    }

    #[test]
    fn alg_none_and_other_algorithms_fail() {
        let payload = format!(
            r#"{{"sub":"admin","role":"admin","iss":"edubot","aud":"edubot-admin","iat":1,"exp":{}}}"#,
            now() / SECOND + 3600
        );
        for header in [
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"HS512","typ":"JWT"}"#,
        ] {
            let unsigned = format!(
                "{}.{}.",
                base64url(header.as_bytes()),
                base64url(payload.as_bytes())
            );
            assert!(service().verify(&unsigned).is_none(), "{header}");
        }
    }

    #[test]
    fn passwords_hash_with_argon2id() {
        let hash = hash_password("correct horse");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn verification_follows_the_parameters_in_the_hash_and_agrees_with_the_crate() {
        use argon2::password_hash::PasswordVerifier;
        // Another variant, version and shape than ours: several lanes, a 16-byte output.
        let params = Params::new(1024, 3, 2, Some(16)).unwrap();
        for (algorithm, version) in [
            (argon2::Algorithm::Argon2id, Version::V0x13),
            (argon2::Algorithm::Argon2i, Version::V0x10),
        ] {
            let hasher = Argon2::new(algorithm, version, params.clone());
            let salt = SaltString::generate(&mut OsRng);
            let hash = hasher.hash_password(b"s3cret", &salt).unwrap().to_string();
            let parsed = PasswordHash::new(&hash).unwrap();
            for (password, expected) in [("s3cret", true), ("s3cret ", false), ("", false)] {
                assert_eq!(
                    verify_password(password, &hash),
                    expected,
                    "{hash} {password:?}"
                );
                assert_eq!(
                    hasher.verify_password(password.as_bytes(), &parsed).is_ok(),
                    expected,
                    "the crate's own verifier agrees"
                );
            }
            // The stored output changed by one character: refused.
            let (head, tail) = hash.rsplit_once('$').unwrap();
            let flipped: String = tail
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i == 0 {
                        if c == 'A' {
                            'B'
                        } else {
                            'A'
                        }
                    } else {
                        c
                    }
                })
                .collect();
            assert!(!verify_password("s3cret", &format!("{head}${flipped}")));
        }
    }

    fn base64url(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n =
                chunk.iter().fold(0u32, |acc, b| (acc << 8) | *b as u32) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}
