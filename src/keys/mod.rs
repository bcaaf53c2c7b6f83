//! Deterministic key material: every key of a network is derived from one 32-byte seed, the
//! network name, a purpose and a node or account name, so regenerating gives the same keys
//! and node IDs are known before anything runs.

pub mod cosmos;
pub mod mina_key;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use hkdf::Hkdf;
use sha2::{Digest, Sha256};

use crate::diag::Diagnostic;
use crate::spec::SeedSource;

/// Default seed file, relative to the spec's folder.
pub const DEFAULT_SEED_FILE: &str = ".chainfleet/seed";

/// The phrase whose SHA-256 seeds every example in `examples/`. Public on purpose (anyone
/// can regenerate `generated/`), so a network on this seed has public keys, however the seed
/// reaches chainfleet (`insecure_phrase`, `env` or `file`).
pub const PUBLIC_EXAMPLE_PHRASE: &str = "chainfleet public example seed: demonstration keys only";

/// The network seed, and the secrets an operator supplies instead of letting them derive
/// from it (a Komodo notary's own wallet passphrase), by name. `Debug` never shows either.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed([u8; 32], BTreeMap<String, String>);

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed(<redacted>)")
    }
}

impl Seed {
    /// This seed with the operator's secret `value` under `name` (e.g.
    /// `komodo/notary/<node>`), used instead of a derived one.
    pub fn with_operator_secret(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Seed {
        self.1.insert(name.into(), value.into());
        self
    }

    /// The operator's secret `name`, if supplied.
    pub fn operator_secret(&self, name: &str) -> Option<&str> {
        self.1.get(name).map(String::as_str)
    }

    /// A seed from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Seed {
        Seed(bytes, BTreeMap::new())
    }

    /// Parse 64 hex characters (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Seed, String> {
        let t = text.trim();
        let bytes = hex::decode(t).map_err(|_| "the seed is not hex".to_string())?;
        let arr: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!(
                "the seed has {} bytes, it needs 32 (64 hex characters)",
                b.len()
            )
        })?;
        Ok(Seed(arr, BTreeMap::new()))
    }

    /// The seed of a public phrase: its SHA-256. Every key derived from it is public.
    pub fn from_public_phrase(phrase: &str) -> Seed {
        Seed(Sha256::digest(phrase.as_bytes()).into(), BTreeMap::new())
    }

    /// True for a seed of all zero bytes (a placeholder, never a secret).
    pub fn is_all_zero(&self) -> bool {
        self.0 == [0; 32]
    }

    /// True for the public example seed (`PUBLIC_EXAMPLE_PHRASE`).
    pub fn is_public_example(&self) -> bool {
        *self == Seed::from_public_phrase(PUBLIC_EXAMPLE_PHRASE)
    }

    /// A fresh random seed from the operating system.
    pub fn generate() -> std::io::Result<Seed> {
        use std::io::Read;
        let mut b = [0u8; 32];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
        Ok(Seed(b, BTreeMap::new()))
    }

    /// The seed as 64 hex characters (for writing the seed file only).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// 32 bytes for `purpose` of `name` in `network`: HKDF-SHA256 with the seed as input key
    /// material. Distinct purposes give independent keys for the same node.
    pub fn derive(&self, network: &str, purpose: &str, name: &str) -> [u8; 32] {
        let hk = Hkdf::<Sha256>::new(Some(b"chainfleet/v1"), &self.0);
        let info = [
            network.as_bytes(),
            b"\0",
            purpose.as_bytes(),
            b"\0",
            name.as_bytes(),
        ]
        .concat();
        let mut out = [0u8; 32];
        hk.expand(&info, &mut out)
            .expect("32 bytes is a valid HKDF length");
        out
    }
}

/// Load the seed named by the spec. `spec_dir` anchors relative seed files; `file` is the
/// spec's display name for diagnostics.
pub fn load_seed(
    source: Option<&SeedSource>,
    spec_dir: &Path,
    file: &str,
) -> Result<Seed, Diagnostic> {
    let default = SeedSource::File(DEFAULT_SEED_FILE.into());
    match source.unwrap_or(&default) {
        SeedSource::Env(var) => {
            let v = std::env::var(var).map_err(|_| {
                Diagnostic::error(file, None, format!("the seed variable `{var}` is not set"))
                    .with_hint(format!(
                        "export {var}=<64 hex characters>; for a new network make them with `od -An -tx1 -N32 /dev/urandom | tr -d ' \\n'` and keep a copy"
                    ))
            })?;
            Seed::from_hex(&v).map_err(|e| {
                Diagnostic::error(file, None, format!("the seed in `{var}` is invalid: {e}"))
                    .with_hint("a seed is 32 random bytes as 64 hex characters")
            })
        }
        SeedSource::InsecurePhrase(phrase) => Ok(Seed::from_public_phrase(phrase)),
        SeedSource::File(path) => {
            let full = spec_dir.join(path);
            let text = std::fs::read_to_string(&full).map_err(|e| {
                Diagnostic::error(
                    file,
                    None,
                    format!("cannot read the seed file `{path}`: {e}"),
                )
                .with_hint(format!(
                    "restore it from your backup; for a new network, `chainfleet seed {file}` writes a fresh one (every key changes)"
                ))
            })?;
            Seed::from_hex(&text).map_err(|e| {
                Diagnostic::error(
                    file,
                    None,
                    format!("the seed file `{path}` is invalid: {e}"),
                )
                .with_hint("a seed is 32 random bytes as 64 hex characters")
            })
        }
    }
}

/// An Ed25519 key pair derived from 32 seed bytes.
#[derive(Clone)]
pub struct Ed25519 {
    signing: ed25519_dalek::SigningKey,
}

impl fmt::Debug for Ed25519 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ed25519(pub {})", hex::encode(self.public()))
    }
}

impl Ed25519 {
    /// The key whose RFC 8032 seed is `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Ed25519 {
        Ed25519 {
            signing: ed25519_dalek::SigningKey::from_bytes(&seed),
        }
    }

    /// 32-byte public key.
    pub fn public(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// Go's 64-byte private key layout: seed ‖ public key (CometBFT's `priv_key` value).
    pub fn keypair_bytes(&self) -> [u8; 64] {
        self.signing.to_keypair_bytes()
    }

    /// CometBFT address: the first 20 bytes of SHA-256 of the public key.
    pub fn address(&self) -> [u8; 20] {
        let h = Sha256::digest(self.public());
        h[..20].try_into().expect("20 of 32 bytes")
    }

    /// CometBFT validator address: the address as uppercase hex (`HexBytes` in Go).
    pub fn validator_address(&self) -> String {
        hex::encode_upper(self.address())
    }

    /// CometBFT node ID: the address as lowercase hex.
    pub fn node_id(&self) -> String {
        hex::encode(self.address())
    }

    /// Sign a message.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.signing.sign(msg).to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn node_id_matches_tendermint_rs_vector() {
        // tendermint-rs config/tests/support/config/node_key.json and its asserted ID.
        let b = base64::engine::general_purpose::STANDARD
            .decode("GRKDcf6krxXq2csRmIC0TNO/SZqoDIxN7JbxehQnjqGkBIVze7BvLGGn72mA68qvubnex30PhoJcXHGYtMl/tA==")
            .unwrap();
        let key = Ed25519::from_seed(b[..32].try_into().unwrap());
        assert_eq!(key.keypair_bytes().to_vec(), b);
        assert_eq!(key.node_id(), "1a7b6bcf3d6fb055ab3aebca415847531b626699");
    }

    #[test]
    fn priv_validator_address_matches_cometbft_vector() {
        // cometbft internal/test/config.go `testPrivValidatorKey`.
        let b = base64::engine::general_purpose::STANDARD
            .decode("EVkqJO/jIXp3rkASXfh9YnyToYXRXhBr6g9cQVxPFnQBP/5povV4HTjvsy530kybxKHwEi85iU8YL0qQhSYVoQ==")
            .unwrap();
        let key = Ed25519::from_seed(b[..32].try_into().unwrap());
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(key.public()),
            "AT/+aaL1eB0477Mud9JMm8Sh8BIvOYlPGC9KkIUmFaE="
        );
        assert_eq!(
            key.validator_address(),
            "A3258DCBF45DCA0DF052981870F2D1441A36D145"
        );
    }

    #[test]
    fn derivation_is_deterministic_and_separated() {
        let s = Seed::from_bytes([7; 32]);
        assert_eq!(s.derive("net", "node", "a"), s.derive("net", "node", "a"));
        assert_ne!(
            s.derive("net", "node", "a"),
            s.derive("net", "validator", "a")
        );
        assert_ne!(
            s.derive("net", "node", "a"),
            Seed::from_bytes([8; 32]).derive("net", "node", "a")
        );
        assert_eq!(format!("{s:?}"), "Seed(<redacted>)");
    }

    #[test]
    fn seed_hex_errors_are_clear() {
        assert!(Seed::from_hex("zz").unwrap_err().contains("hex"));
        assert!(Seed::from_hex("abcd").unwrap_err().contains("2 bytes"));
        assert!(Seed::from_hex(&"ab".repeat(32)).is_ok());
    }
}
