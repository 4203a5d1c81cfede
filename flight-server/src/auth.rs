//! Authentication: users with argon2 password hashes, static API tokens, and signed, expiring
//! bearer tokens that any replica sharing the secret can verify.
//!
//! A client logs in with HTTP Basic credentials (in the handshake or on any call) and gets a
//! bearer token back in the `authorization` response header. A tool that can only send a user
//! and a password may send a token as the password.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine as _;
#[cfg(test)]
use base64::engine::general_purpose::STANDARD;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{AuthConfig, Role};
use crate::error::{Error, Result};

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub user: String,
    pub role: Role,
    /// Session id: one per login, so session options follow the token.
    pub session: String,
}

/// HMAC-SHA256 signatures with the server's secret (tokens and tickets).
pub struct Signer {
    key: Vec<u8>,
}

impl Signer {
    pub fn new(secret: Option<&str>) -> Self {
        let key = match secret {
            Some(s) => s.as_bytes().to_vec(),
            None => {
                let mut key = uuid::Uuid::new_v4().as_bytes().to_vec();
                key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
                key
            }
        };
        Signer { key }
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    /// `data` followed by its signature.
    pub fn seal(&self, data: &[u8]) -> Vec<u8> {
        let mut out = data.to_vec();
        out.extend_from_slice(&self.mac(data));
        out
    }

    /// The data of a sealed message, if its signature is ours.
    pub fn open<'a>(&self, sealed: &'a [u8]) -> Option<&'a [u8]> {
        let split = sealed.len().checked_sub(32)?;
        let (data, tag) = sealed.split_at(split);
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        mac.update(data);
        mac.verify_slice(tag).ok().map(|_| data)
    }
}

/// The claims inside a bearer token.
#[derive(Serialize, Deserialize)]
struct Claims {
    u: String,
    r: Role,
    s: String,
    exp: u64,
}

const TOKEN_PREFIX: &str = "st1.";

/// Checks credentials and issues tokens.
pub struct Auth {
    config: AuthConfig,
    signer: Signer,
    ttl: Duration,
    /// Basic credentials already verified, by their hash: argon2 is slow on purpose, and some
    /// clients send Basic credentials on every call.
    verified: Mutex<HashMap<Vec<u8>, (Principal, Instant)>>,
}

impl Auth {
    pub fn new(config: AuthConfig) -> Self {
        let signer = Signer::new(config.secret.as_deref());
        let ttl = config.token_ttl.unwrap_or(Duration::from_secs(12 * 3600));
        Auth {
            config,
            signer,
            ttl,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// The signer of tokens, shared with tickets.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// Whether credentials are required.
    pub fn enabled(&self) -> bool {
        self.config.enabled()
    }

    /// The caller behind an `authorization` header value (`Basic …` or `Bearer …`).
    /// Without configured credentials everyone is the local administrator.
    pub fn authenticate(&self, header: Option<&str>) -> Result<Principal> {
        if !self.enabled() {
            return Ok(Principal {
                user: "local".into(),
                role: Role::Admin,
                session: String::new(),
            });
        }
        let header = header.ok_or_else(|| {
            Error::Unauthenticated(
                "authentication required: log in with a user and password, or send `authorization: Bearer <token>`".into(),
            )
        })?;
        if let Some(token) = strip_scheme(header, "bearer") {
            return self.verify_token(token.trim());
        }
        if let Some(basic) = strip_scheme(header, "basic") {
            return self.verify_basic(basic.trim());
        }
        Err(Error::Unauthenticated(
            "unsupported authorization scheme: use Basic or Bearer".into(),
        ))
    }

    fn verify_basic(&self, encoded: &str) -> Result<Principal> {
        let key = Sha256::digest(encoded.as_bytes()).to_vec();
        if let Some((p, at)) = self.verified.lock().map_err(poisoned)?.get(&key)
            && at.elapsed() < Duration::from_secs(300)
        {
            return Ok(p.clone());
        }
        // Go's Flight client (ADBC) sends base64 without padding.
        let decoded = STANDARD_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| Error::Unauthenticated("malformed Basic credentials".into()))?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or_else(|| Error::Unauthenticated("malformed Basic credentials".into()))?;
        let principal = match self.config.users.iter().find(|u| u.name == user) {
            Some(entry) => {
                let hash = PasswordHash::new(&entry.password_hash).map_err(|e| {
                    Error::Internal(format!(
                        "the password hash of user '{user}' is invalid: {e}"
                    ))
                })?;
                if Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
                {
                    Principal {
                        user: user.to_string(),
                        role: entry.role,
                        session: new_session(),
                    }
                } else {
                    // A tool that can only send a user and a password may send a token.
                    self.verify_token(password)
                        .map_err(|_| wrong_credentials(user))?
                }
            }
            None => self
                .verify_token(password)
                .map_err(|_| wrong_credentials(user))?,
        };
        let mut cache = self.verified.lock().map_err(poisoned)?;
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(key, (principal.clone(), Instant::now()));
        Ok(principal)
    }

    /// A bearer token: a static API token, or one this server (or a replica) signed.
    pub fn verify_token(&self, token: &str) -> Result<Principal> {
        let digest = sha256_hex(token.as_bytes());
        if let Some(entry) = self.config.tokens.iter().find(|t| t.sha256 == digest) {
            return Ok(Principal {
                user: entry.name.clone(),
                role: entry.role,
                session: digest[..16].to_string(),
            });
        }
        let body = token.strip_prefix(TOKEN_PREFIX).ok_or_else(invalid_token)?;
        let sealed = URL_SAFE_NO_PAD.decode(body).map_err(|_| invalid_token())?;
        let data = self.signer.open(&sealed).ok_or_else(invalid_token)?;
        let claims: Claims = serde_json::from_slice(data).map_err(|_| invalid_token())?;
        if claims.exp < now_secs() {
            return Err(Error::Unauthenticated(
                "the bearer token has expired: log in again".into(),
            ));
        }
        Ok(Principal {
            user: claims.u,
            role: claims.r,
            session: claims.s,
        })
    }

    /// A signed bearer token for `principal`, valid for the configured lifetime.
    pub fn issue(&self, principal: &Principal) -> Result<String> {
        self.issue_with_ttl(principal, self.ttl)
    }

    pub fn issue_with_ttl(&self, principal: &Principal, ttl: Duration) -> Result<String> {
        let claims = Claims {
            u: principal.user.clone(),
            r: principal.role,
            s: principal.session.clone(),
            exp: now_secs() + ttl.as_secs(),
        };
        let data = serde_json::to_vec(&claims).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(format!(
            "{TOKEN_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(self.signer.seal(&data))
        ))
    }
}

fn strip_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (s, rest) = header.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then_some(rest)
}

fn new_session() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn wrong_credentials(user: &str) -> Error {
    Error::Unauthenticated(format!("wrong user name or password for '{user}'"))
}

fn invalid_token() -> Error {
    Error::Unauthenticated("invalid bearer token: log in again or check the API token".into())
}

fn poisoned<T>(_: T) -> Error {
    Error::Internal("a lock was poisoned by a panic".into())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Hex SHA-256, as API tokens are stored.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An argon2id PHC string for `password`, for the configuration file.
pub fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("cannot hash the password: {e}")))
}

/// A new random API token (to hand to a CI job) and its stored hash.
pub fn new_api_token() -> (String, String) {
    let token = format!(
        "strata_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let hash = sha256_hex(token.as_bytes());
    (token, hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{TokenEntry, UserEntry};

    fn auth() -> Auth {
        let (token, sha) = ("ci-secret-token", sha256_hex(b"ci-secret-token"));
        let _ = token;
        Auth::new(AuthConfig {
            users: vec![UserEntry {
                name: "ana".into(),
                role: Role::Reader,
                password_hash: hash_password("pw1").unwrap(),
            }],
            tokens: vec![TokenEntry {
                name: "ci".into(),
                role: Role::Writer,
                sha256: sha,
            }],
            secret: Some("s3cret".into()),
            token_ttl: None,
        })
    }

    fn basic(user: &str, pw: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{user}:{pw}")))
    }

    #[test]
    fn passwords_tokens_and_expiry() {
        let a = auth();
        let p = a.authenticate(Some(&basic("ana", "pw1"))).unwrap();
        assert_eq!((p.user.as_str(), p.role), ("ana", Role::Reader));
        let err = a.authenticate(Some(&basic("ana", "nope"))).unwrap_err();
        assert!(
            err.to_string().contains("wrong user name or password"),
            "{err}"
        );
        assert!(a.authenticate(None).is_err());

        let token = a.issue(&p).unwrap();
        assert_eq!(a.authenticate(Some(&format!("Bearer {token}"))).unwrap(), p);
        // Password is a token.
        assert_eq!(a.authenticate(Some(&basic("ana", &token))).unwrap(), p);
        // A replica with the same secret accepts it; one with another secret does not.
        assert_eq!(auth().verify_token(&token).unwrap(), p);
        let other = Auth::new(AuthConfig {
            secret: Some("other".into()),
            ..AuthConfig::default()
        });
        assert!(other.verify_token(&token).is_err());
        // Tampering with the claims breaks the signature.
        let forged = token.replace('A', "B");
        assert!(forged == token || a.verify_token(&forged).is_err());
        let expired = a.issue_with_ttl(&p, Duration::ZERO).unwrap();
        std::thread::sleep(Duration::from_millis(1100));
        let err = a.verify_token(&expired).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");

        let ci = a.authenticate(Some("Bearer ci-secret-token")).unwrap();
        assert_eq!((ci.user.as_str(), ci.role), ("ci", Role::Writer));
    }

    #[test]
    fn sealed_messages_detect_changes() {
        let s = Signer::new(Some("k"));
        let mut sealed = s.seal(b"hello");
        assert_eq!(s.open(&sealed), Some(&b"hello"[..]));
        sealed[0] ^= 1;
        assert_eq!(s.open(&sealed), None);
        assert_eq!(s.open(b"short"), None);
    }
}
