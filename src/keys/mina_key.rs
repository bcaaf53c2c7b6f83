//! Mina staking keys: Pallas key pairs derived from the network seed, their `B62…` public
//! and `EK…` private encodings, and the daemon's password-protected private key file.
//!
//! Encodings (as o1js `mina-signer` and the daemon's `Public_key.Compressed` /
//! `Private_key` write them):
//! - public key `B62…`: Base58Check, version byte `0xcb`, then `0x01 0x01` (the compressed
//!   point's binable versions), the x coordinate as 32 little-endian bytes, and one byte for
//!   the parity of y;
//! - private key `EK…`: Base58Check, version byte `0x5a`, then `0x01` (binable version) and
//!   the scalar as 32 little-endian bytes;
//! - private key file: the `0x01 ‖ scalar` bytes (33) in Mina's secret box JSON (argon2i +
//!   xsalsa20poly1305, `chain::mina::secret_box`), what `mina advanced generate-keypair`
//!   writes and `--block-producer-key` reads with the password in `MINA_PRIVKEY_PASS`.
//!
//! The secret is the Pallas scalar-field element of 32 HKDF bytes reduced modulo the group
//! order; the public key is that multiple of Mina's Pallas generator `(1, y)` (arithmetic
//! from `ark-pallas`, whose own generator `(-1, 2)` Mina does not use).

use std::fmt;

use ark_ec::CurveGroup;
use ark_ff::{BigInteger, PrimeField, Zero};
use ark_pallas::{Affine, Fq, Fr};
use sha2::{Digest, Sha256};

use super::Seed;

/// Base58Check version byte of a compressed public key (`B62…`).
const PUBLIC_KEY_VERSION: u8 = 0xcb;
/// Base58Check version byte of a private key (`EK…`).
const PRIVATE_KEY_VERSION: u8 = 0x5a;
/// Binable version byte in front of the scalar (private keys) and of the compressed point
/// (public keys: once for `Non_zero_curve_point`, once for its `Compressed_poly`).
const BINABLE_V1: u8 = 0x01;
/// y of Mina's Pallas generator `(1, y)`: o1js `pallasGeneratorProjective` (its bindings'
/// elliptic curve code); the vectors in the tests below pin it.
const GENERATOR_Y: &str =
    "12418654782883325593414442427049395787963493412651469444558597405572177144507";

/// Mina's Pallas generator.
fn generator() -> Affine {
    use std::str::FromStr;
    let y = Fq::from_str(GENERATOR_Y).expect("constant field element");
    let g = Affine::new_unchecked(Fq::from(1u64), y);
    debug_assert!(g.is_on_curve() && g.is_in_correct_subgroup_assuming_on_curve());
    g
}

/// A Mina (Pallas) key pair. `Debug` shows the public key only.
#[derive(Clone, PartialEq, Eq)]
pub struct MinaKey {
    secret: Fr,
    public: Affine,
}

impl fmt::Debug for MinaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MinaKey({})", self.public_key())
    }
}

impl MinaKey {
    /// The key whose secret is `bytes` (little endian) reduced modulo the Pallas group
    /// order. Zero (probability 2^-254) is replaced by the reduction of SHA-256(bytes).
    pub fn from_seed_bytes(bytes: [u8; 32]) -> MinaKey {
        let mut secret = Fr::from_le_bytes_mod_order(&bytes);
        if secret.is_zero() {
            secret = Fr::from_le_bytes_mod_order(&Sha256::digest(bytes));
        }
        MinaKey::from_scalar(secret)
    }

    fn from_scalar(secret: Fr) -> MinaKey {
        let public = (generator() * secret).into_affine();
        MinaKey { secret, public }
    }

    /// The key of the 33 bytes a Mina private key file holds (`0x01 ‖ scalar LE`).
    pub fn from_private_bytes(bytes: &[u8]) -> Result<MinaKey, String> {
        let [BINABLE_V1, scalar @ ..] = bytes else {
            return Err("a Mina private key starts with version byte 0x01".into());
        };
        if scalar.len() != 32 {
            return Err(format!(
                "a Mina private key has 32 scalar bytes, not {}",
                scalar.len()
            ));
        }
        let secret = Fr::from_le_bytes_mod_order(scalar);
        let canonical: Vec<u8> = secret.into_bigint().to_bytes_le();
        if canonical != scalar || secret.is_zero() {
            return Err("the scalar is not a valid Pallas private key".into());
        }
        Ok(MinaKey::from_scalar(secret))
    }

    /// The key of an `EK…` private key.
    pub fn from_private_key_base58(text: &str) -> Result<MinaKey, String> {
        MinaKey::from_private_bytes(&un_base58check(text, PRIVATE_KEY_VERSION)?)
    }

    /// `0x01 ‖ scalar LE` (33 bytes, secret): the plaintext of the key file.
    pub fn private_bytes(&self) -> Vec<u8> {
        let mut out = vec![BINABLE_V1];
        out.extend(self.secret.into_bigint().to_bytes_le());
        out
    }

    /// The private key as `EK…` (secret).
    pub fn private_key_base58(&self) -> String {
        base58check(PRIVATE_KEY_VERSION, &self.private_bytes())
    }

    /// The public key as `B62…`.
    pub fn public_key(&self) -> String {
        public_key_of(&self.public.x, self.public.y.into_bigint().is_odd())
    }
}

/// The `B62…` encoding of the point with x coordinate `x` and y parity `odd`.
fn public_key_of(x: &Fq, odd: bool) -> String {
    let mut payload = vec![BINABLE_V1, BINABLE_V1];
    payload.extend(x.into_bigint().to_bytes_le());
    payload.push(u8::from(odd));
    base58check(PUBLIC_KEY_VERSION, &payload)
}

/// Decode a `B62…` public key into its x coordinate (32 bytes LE) and y parity, checking
/// the checksum, the version bytes and that x is on the curve.
pub fn decode_public_key(text: &str) -> Result<([u8; 32], bool), String> {
    let raw = un_base58check(text, PUBLIC_KEY_VERSION)?;
    let [BINABLE_V1, BINABLE_V1, rest @ ..] = raw.as_slice() else {
        return Err("not a compressed Mina public key (version bytes)".into());
    };
    if rest.len() != 33 || rest[32] > 1 {
        return Err("a Mina public key has 32 bytes of x and one parity byte".into());
    }
    let x: [u8; 32] = rest[..32].try_into().expect("32 bytes");
    let fx = Fq::from_le_bytes_mod_order(&x);
    if fx.into_bigint().to_bytes_le() != x {
        return Err("x is not a canonical field element".into());
    }
    if Affine::get_point_from_x_unchecked(fx, false).is_none() {
        return Err("x is not on the Pallas curve".into());
    }
    Ok((x, rest[32] == 1))
}

fn base58check(version: u8, payload: &[u8]) -> String {
    let body = [&[version][..], payload].concat();
    let sum = Sha256::digest(Sha256::digest(&body));
    bs58::encode([&body[..], &sum[..4]].concat()).into_string()
}

fn un_base58check(text: &str, version: u8) -> Result<Vec<u8>, String> {
    let raw = bs58::decode(text)
        .into_vec()
        .map_err(|e| format!("not base58: {e}"))?;
    if raw.len() < 6 {
        return Err("too short".into());
    }
    let (body, sum) = raw.split_at(raw.len() - 4);
    if Sha256::digest(Sha256::digest(body))[..4] != *sum {
        return Err("bad checksum".into());
    }
    if body[0] != version {
        return Err(format!(
            "version byte {:#04x}, expected {version:#04x}",
            body[0]
        ));
    }
    Ok(body[1..].to_vec())
}

/// Everything one staking key needs at generation time, derived from the network seed for
/// `purpose` (e.g. `block-producer`) of `name` (a node or account).
pub struct StakingKey {
    /// The key pair.
    pub key: MinaKey,
    /// The key file password (secret): 64 hex characters.
    pub password: String,
    nonce: [u8; 24],
    salt: [u8; 16],
}

impl StakingKey {
    /// Derive the key, its password and its key file's nonce and salt.
    pub fn derive(seed: &Seed, network: &str, purpose: &str, name: &str) -> StakingKey {
        let p = |what: &str| seed.derive(network, &format!("mina/{purpose}/{what}"), name);
        let (n, s) = (p("box-nonce"), p("box-salt"));
        StakingKey {
            key: MinaKey::from_seed_bytes(p("key")),
            password: hex::encode(p("password")),
            nonce: n[..24].try_into().expect("24 of 32 bytes"),
            salt: s[..16].try_into().expect("16 of 32 bytes"),
        }
    }

    /// The private key file (secret box JSON) sealed with `password`; deterministic.
    pub fn key_file(&self) -> String {
        crate::chain::mina::secret_box(
            &self.key.private_bytes(),
            self.password.as_bytes(),
            &self.nonce,
            &self.salt,
        )
    }
}

/// Open a Mina private key file with its password.
pub fn open_key_file(json: &str, password: &str) -> Result<MinaKey, String> {
    let plain = crate::chain::mina::open_secret_box(json, password.as_bytes())?;
    MinaKey::from_private_bytes(&plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keypair_matches_o1js_vector() {
        // o1-labs/o1js src/mina-signer/src/test-vectors/legacySignatures.ts `keypair`
        // (inputs of client_sdk/tests/test_signatures.js).
        let k = MinaKey::from_private_key_base58(
            "EKFKgDtU3rcuFTVSEpmpXSkukjmX4cKefYREi6Sdsk7E7wsT7KRw",
        )
        .unwrap();
        assert_eq!(
            k.public_key(),
            "B62qiy32p8kAKnny8ZFwoMhYpBppM1DWVCqAPBYNcXnsAHhnfAAuXgg"
        );
        assert_eq!(
            k.private_key_base58(),
            "EKFKgDtU3rcuFTVSEpmpXSkukjmX4cKefYREi6Sdsk7E7wsT7KRw"
        );
        decode_public_key(&k.public_key()).unwrap();
    }

    #[test]
    fn key_file_matches_o1js_keystore_vector() {
        // o1-labs/o1js src/mina-signer/tests/from-keystore.ts `keyfileExample`, its
        // password and the keys it decrypts to (the test decrypts with libsodium itself).
        let file = r#"{"box_primitive":"xsalsa20poly1305","pw_primitive":"argon2i","nonce":"7bhBLFhx8v8uR9N9gVxbK721VZRqQ9X4zEh4xAq","pwsalt":"AnJ9HJKcGdiWpssG76s7p3Hzh3TG","pwdiff":[134217728,6],"ciphertext":"BRKKEJcPFrcmsJjkWunysYrpb65hQgBeqzBDRbzrRPhS49CEHVgn48X21Peq9MwAzKeEPdFFB"}"#;
        let k = open_key_file(file, "123456").unwrap();
        assert_eq!(
            k.private_key_base58(),
            "EKF4XaKafQXHUHTxSA9qTYsBxk9VV5oGDe4CmcZY52bsQFs1GnRs"
        );
        assert_eq!(
            k.public_key(),
            "B62qkhhWkJdZx9MAZHd67VqBAX7FVbzSizqsFYqMKvQu4kPNyFxxCmB"
        );
        assert!(open_key_file(file, "1234567").is_err());
    }

    #[test]
    fn derived_keys_are_deterministic_separated_and_round_trip() {
        let seed = Seed::from_bytes([5; 32]);
        let a = StakingKey::derive(&seed, "net", "block-producer", "producer-0");
        let b = StakingKey::derive(&seed, "net", "block-producer", "producer-0");
        let c = StakingKey::derive(&seed, "net", "block-producer", "producer-1");
        assert_eq!(a.key, b.key);
        assert_eq!(a.key_file(), b.key_file());
        assert_ne!(a.key, c.key);
        assert_ne!(a.password, c.password);
        assert!(a.key.public_key().starts_with("B62q"), "{:?}", a.key);
        assert!(a.key.private_key_base58().starts_with("EK"));
        let file = a.key_file();
        assert_eq!(open_key_file(&file, &a.password).unwrap(), a.key);
        assert!(open_key_file(&file, &c.password).is_err());
        assert!(!file.contains(&a.key.private_key_base58()));
        assert!(!format!("{:?}", a.key).contains(&a.key.private_key_base58()));
        assert_eq!(
            MinaKey::from_private_key_base58(&a.key.private_key_base58()).unwrap(),
            a.key
        );
    }

    #[test]
    fn bad_encodings_are_refused() {
        let good = "B62qiy32p8kAKnny8ZFwoMhYpBppM1DWVCqAPBYNcXnsAHhnfAAuXgg";
        let mut bad = good.to_string();
        bad.replace_range(10..11, "z");
        assert!(decode_public_key(&bad).is_err());
        // A private key is not a public key.
        assert!(decode_public_key("EKFKgDtU3rcuFTVSEpmpXSkukjmX4cKefYREi6Sdsk7E7wsT7KRw").is_err());
        assert!(MinaKey::from_private_key_base58(good).is_err());
        assert!(MinaKey::from_private_bytes(&[1; 10]).is_err());
    }
}
