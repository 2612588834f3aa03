//! Secrets encrypted at rest: XChaCha20-Poly1305 under a master key.
//!
//! # Format
//! A sealed value is one ASCII line, `v1.<key id>.<nonce>.<ciphertext>`:
//! - `v1`: the format version;
//! - key id: [`MasterKey::id`], 16 hex characters, so a value names the key that opens it
//!   and a rotation can find the values still under an old key ([`Keyring::needs_rotation`]);
//! - nonce: 24 random bytes from the OS, fresh for every value, URL-safe base64 (no padding);
//! - ciphertext: the encrypted value followed by its 16-byte Poly1305 tag, same base64.
//!
//! # Associated data
//! Every value is bound to *which* secret it is, so that a ciphertext copied into another
//! row (another project, environment or name) fails to open. The convention, built by [`aad`]:
//!
//! ```text
//! berth-secret:v1:<project slug>/<environment slug, or "*" for project-level>/<NAME>
//! ```
//!
//! # What never leaks
//! [`SealError`] messages carry no plaintext, key bytes or ciphertext — at most a key id.
//! [`MasterKey`] and [`SecretString`] print as their key id and `••••`, and neither
//! implements `Serialize`. Both wipe their memory when dropped.
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroize;

const VERSION: &str = "v1";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const KEY_ID_DOMAIN: &[u8] = b"berth-master-key-id:v1:";

/// What goes wrong with keys and sealed values. No message contains secret material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("invalid master key: {0}")]
    InvalidKey(&'static str),
    #[error("malformed sealed value: {0}")]
    Malformed(&'static str),
    #[error("sealed with key {0}, which is not in the keyring")]
    UnknownKey(String),
    #[error("the sealed value does not open: wrong key, wrong secret name or altered value")]
    Decrypt,
    #[error("the secret is not valid UTF-8 text")]
    NotUtf8,
}

/// The 32-byte key every secret is sealed under. `Debug` shows only its id.
#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; 32],
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl MasterKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> MasterKey {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        MasterKey { bytes }
    }

    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        MasterKey { bytes }
    }

    /// Parse a key as written in `BERTH_MASTER_KEY` or `master.key`: 64 hex characters, or
    /// base64 (standard or URL-safe, padded or not) of 32 bytes. Whitespace around is ignored.
    pub fn parse(text: &str) -> Result<MasterKey, SealError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(SealError::InvalidKey("empty"));
        }
        let mut decoded = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|_| SealError::InvalidKey("bad hex"))?
        } else {
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(text).ok())
                .ok_or(SealError::InvalidKey(
                    "expected 64 hex characters or base64 of 32 bytes",
                ))?
        };
        let result = <[u8; 32]>::try_from(decoded.as_slice())
            .map(MasterKey::from_bytes)
            .map_err(|_| SealError::InvalidKey("a master key is exactly 32 bytes"));
        decoded.zeroize();
        result
    }

    /// The key as standard base64 (what [`MasterKey::parse`] reads back).
    pub fn to_text(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    /// A public name for the key: the first 16 hex characters of
    /// SHA-256(`berth-master-key-id:v1:` ‖ key). Safe to log and store.
    pub fn id(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(KEY_ID_DOMAIN);
        hasher.update(self.bytes);
        let digest = hasher.finalize();
        hex::encode(&digest[..8])
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.bytes).into())
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.id())
    }
}

impl PartialEq for MasterKey {
    fn eq(&self, other: &Self) -> bool {
        // Compare ids, not bytes: no early exit on secret data.
        self.id() == other.id()
    }
}

impl Eq for MasterKey {}

/// The associated data of one secret: `berth-secret:v1:<project>/<environment or *>/<NAME>`.
pub fn aad(project: &str, environment: Option<&str>, name: &str) -> String {
    format!(
        "berth-secret:v1:{project}/{}/{name}",
        environment.unwrap_or("*")
    )
}

/// The current key, which seals, and the previous keys, which still open older values.
#[derive(Clone, Debug)]
pub struct Keyring {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl Keyring {
    pub fn new(current: MasterKey) -> Keyring {
        Keyring {
            current,
            previous: Vec::new(),
        }
    }

    /// A keyring that seals with `current` and still opens values sealed with `previous`.
    pub fn with_previous(current: MasterKey, previous: Vec<MasterKey>) -> Keyring {
        Keyring { current, previous }
    }

    /// Make `next` the sealing key; the current one moves to the previous keys.
    pub fn rotate(&mut self, next: MasterKey) {
        let old = std::mem::replace(&mut self.current, next);
        if old != self.current {
            self.previous.insert(0, old);
        }
    }

    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    pub fn current_id(&self) -> String {
        self.current.id()
    }

    pub fn previous(&self) -> &[MasterKey] {
        &self.previous
    }

    /// Seal `plaintext` under the current key, bound to `aad` (see [`aad`]), with a fresh
    /// random nonce.
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .current
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            // Only fails for messages beyond 256 GiB.
            .expect("XChaCha20-Poly1305 encryption");
        format!(
            "{VERSION}.{}.{}.{}",
            self.current.id(),
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(ciphertext)
        )
    }

    /// Open a value from [`Keyring::seal`], with the key its id names (current or previous).
    pub fn open(&self, aad: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        let parts = Parts::parse(sealed)?;
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id() == parts.key_id)
            .ok_or_else(|| SealError::UnknownKey(parts.key_id.to_string()))?;
        key.cipher()
            .decrypt(
                XNonce::from_slice(&parts.nonce),
                Payload {
                    msg: &parts.ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Decrypt)
    }

    /// [`Keyring::open`] for text secrets.
    pub fn open_string(&self, aad: &str, sealed: &str) -> Result<SecretString, SealError> {
        let bytes = self.open(aad, sealed)?;
        match String::from_utf8(bytes) {
            Ok(text) => Ok(SecretString(text)),
            Err(e) => {
                e.into_bytes().zeroize();
                Err(SealError::NotUtf8)
            }
        }
    }

    /// Whether `sealed` is under another key than the current one (a rotation re-seals it).
    /// Malformed values also answer `true`: they need attention.
    pub fn needs_rotation(&self, sealed: &str) -> bool {
        match Parts::parse(sealed) {
            Ok(parts) => parts.key_id != self.current.id(),
            Err(_) => true,
        }
    }

    /// Open with whichever key sealed it and seal again under the current key (same AAD).
    pub fn reseal(&self, aad: &str, sealed: &str) -> Result<String, SealError> {
        let mut plaintext = self.open(aad, sealed)?;
        let resealed = self.seal(aad, &plaintext);
        plaintext.zeroize();
        Ok(resealed)
    }
}

/// The key id a sealed value names, without opening it.
pub fn sealed_key_id(sealed: &str) -> Result<String, SealError> {
    Parts::parse(sealed).map(|p| p.key_id.to_string())
}

struct Parts<'a> {
    key_id: &'a str,
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl<'a> Parts<'a> {
    fn parse(sealed: &'a str) -> Result<Parts<'a>, SealError> {
        let mut fields = sealed.trim().split('.');
        let (Some(version), Some(key_id), Some(nonce), Some(ciphertext), None) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(SealError::Malformed(
                "expected `v1.<key id>.<nonce>.<ciphertext>`",
            ));
        };
        if version != VERSION {
            return Err(SealError::Malformed("unknown format version"));
        }
        if key_id.len() != 16
            || !key_id
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(SealError::Malformed("bad key id"));
        }
        let nonce = URL_SAFE_NO_PAD
            .decode(nonce)
            .ok()
            .and_then(|n| <[u8; NONCE_LEN]>::try_from(n.as_slice()).ok())
            .ok_or(SealError::Malformed("bad nonce"))?;
        let ciphertext = URL_SAFE_NO_PAD
            .decode(ciphertext)
            .map_err(|_| SealError::Malformed("bad ciphertext encoding"))?;
        if ciphertext.len() < TAG_LEN {
            return Err(SealError::Malformed("ciphertext too short"));
        }
        Ok(Parts {
            key_id,
            nonce,
            ciphertext,
        })
    }
}

/// A secret value in memory. Prints as `••••` (`Debug` and `Display`), is not `Serialize`,
/// and is wiped when dropped; [`SecretString::expose`] is the one way to read it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(String);

impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// What a secret prints as.
pub const REDACTED: &str = "••••";

impl SecretString {
    pub fn new(value: impl Into<String>) -> SecretString {
        SecretString(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        SecretString(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        SecretString(value.to_string())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretString({REDACTED})")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}
