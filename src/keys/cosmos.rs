//! Cosmos SDK account keys: 32 derived bytes → 24-word BIP39 mnemonic → BIP32
//! `m/44'/118'/0'/0/0` secp256k1 key → RIPEMD160(SHA256(pubkey)) → bech32 addresses; also
//! module account addresses and SIGN_MODE_DIRECT signatures.
//!
//! The mnemonic is the account's backup form (what `simd keys add --recover` takes), so the
//! key is derived through it rather than from the seed bytes directly.

use std::fmt;

use bip32::{DerivationPath, Language, Mnemonic, XPrv};
use k256::ecdsa::{signature::Signer, Signature, SigningKey};
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

/// The Cosmos Hub HD path (coin type 118) every SDK keyring uses by default.
pub const HD_PATH: &str = "m/44'/118'/0'/0/0";

/// A secp256k1 account key with its mnemonic. `Debug` shows only the address bytes.
#[derive(Clone)]
pub struct Account {
    mnemonic: String,
    signing: SigningKey,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Account({})", hex::encode(self.address()))
    }
}

impl Account {
    /// The account whose 24-word mnemonic encodes `entropy`.
    pub fn from_entropy(entropy: [u8; 32]) -> Account {
        let m = Mnemonic::from_entropy(entropy, Language::English);
        Account::from_mnemonic_checked(&m)
    }

    /// The account of an existing 24-word English mnemonic (recovery, round trips).
    pub fn from_mnemonic(phrase: &str) -> Result<Account, String> {
        let m = Mnemonic::new(phrase, Language::English).map_err(|e| e.to_string())?;
        Ok(Account::from_mnemonic_checked(&m))
    }

    fn from_mnemonic_checked(m: &Mnemonic) -> Account {
        Account::from_bip39_seed(m.to_seed("").as_bytes(), m.phrase().to_string())
    }

    /// The account of a 64-byte BIP39 seed (PBKDF2 output) whose mnemonic is `mnemonic`.
    pub fn from_bip39_seed(seed: &[u8; 64], mnemonic: String) -> Account {
        let path: DerivationPath = HD_PATH.parse().expect("constant HD path parses");
        // Derivation fails only for a negligible set of seeds (invalid child scalar).
        let xprv = XPrv::derive_from_path(seed, &path).expect("BIP32 derivation of a BIP39 seed");
        Account {
            mnemonic,
            signing: xprv.private_key().clone(),
        }
    }

    /// The mnemonic (secret).
    pub fn mnemonic(&self) -> &str {
        &self.mnemonic
    }

    /// The 32-byte private key (secret).
    pub fn private_key(&self) -> [u8; 32] {
        self.signing.to_bytes().into()
    }

    /// 33-byte compressed public key.
    pub fn public_key(&self) -> [u8; 33] {
        let p = self.signing.verifying_key().to_encoded_point(true);
        p.as_bytes()
            .try_into()
            .expect("compressed point is 33 bytes")
    }

    /// Account address bytes: RIPEMD160(SHA256(compressed pubkey)).
    pub fn address(&self) -> [u8; 20] {
        let sha = Sha256::digest(self.public_key());
        Ripemd160::digest(sha).into()
    }

    /// SIGN_MODE_DIRECT signature of `sign_doc`: ECDSA over SHA-256, 64 bytes r‖s, low-S.
    pub fn sign(&self, sign_doc: &[u8]) -> [u8; 64] {
        let sig: Signature = self.signing.sign(sign_doc);
        let sig = sig.normalize_s().unwrap_or(sig);
        sig.to_bytes().into()
    }
}

/// Bech32 (not bech32m) encoding of `bytes` with human-readable part `hrp`.
pub fn bech32(hrp: &str, bytes: &[u8]) -> Result<String, String> {
    let hrp = bech32::Hrp::parse(hrp).map_err(|e| format!("bad bech32 prefix `{hrp}`: {e}"))?;
    bech32::encode::<bech32::Bech32>(hrp, bytes).map_err(|e| e.to_string())
}

/// Address of an SDK module account: SHA-256 of its name, first 20 bytes.
pub fn module_address(name: &str) -> [u8; 20] {
    Sha256::digest(name.as_bytes())[..20]
        .try_into()
        .expect("20 of 32 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    const COSMJS: &str =
        "special sign fit simple patrol salute grocery chicken wheat radar tonight ceiling";

    /// PBKDF2-HMAC-SHA512 (BIP39 seed stretch), written out here because the 12-word
    /// cosmjs vector cannot go through bip32's 24-word `Mnemonic`.
    fn bip39_seed(phrase: &str) -> [u8; 64] {
        use sha2::Sha512;
        fn hmac(key: &[u8], msg: &[u8]) -> [u8; 64] {
            let mut k = [0u8; 128];
            if key.len() > 128 {
                k[..64].copy_from_slice(&Sha512::digest(key));
            } else {
                k[..key.len()].copy_from_slice(key);
            }
            let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
            let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
            let inner = Sha512::new()
                .chain_update(&ipad)
                .chain_update(msg)
                .finalize();
            Sha512::new()
                .chain_update(&opad)
                .chain_update(inner)
                .finalize()
                .into()
        }
        let mut u = hmac(phrase.as_bytes(), b"mnemonic\0\0\0\x01");
        let mut out = u;
        for _ in 1..2048 {
            u = hmac(phrase.as_bytes(), &u);
            out.iter_mut().zip(u).for_each(|(o, x)| *o ^= x);
        }
        out
    }

    #[test]
    fn mnemonic_to_address_matches_cosmjs_vector() {
        let a = Account::from_bip39_seed(&bip39_seed(COSMJS), COSMJS.into());
        assert_eq!(
            hex::encode(a.public_key()),
            "02baa4ef93f2ce84592a49b1d729c074eab640112522a7a89f7d03ebab21ded7b6"
        );
        assert_eq!(
            bech32("cosmos", &a.address()).unwrap(),
            "cosmos1jhg0e7s6gn44tfc5k37kr04sznyhedtc9rzys5"
        );
        assert_eq!(
            bech32("cosmosvaloper", &a.address()).unwrap(),
            "cosmosvaloper1jhg0e7s6gn44tfc5k37kr04sznyhedtcqhk3u8"
        );
    }

    #[test]
    fn module_accounts_match_sdk() {
        assert_eq!(
            bech32("cosmos", &module_address("bonded_tokens_pool")).unwrap(),
            "cosmos1fl48vsnmsdzcv85q5d2q4z5ajdha8yu34mf0eh"
        );
        assert_eq!(
            bech32("cosmos", &module_address("not_bonded_tokens_pool")).unwrap(),
            "cosmos1tygms3xhhs3yv487phx3dw4a95jn7t7lpm470r"
        );
    }

    #[test]
    fn entropy_gives_24_words_that_round_trip() {
        let a = Account::from_entropy([9; 32]);
        assert_eq!(a.mnemonic().split(' ').count(), 24);
        let b = Account::from_mnemonic(a.mnemonic()).unwrap();
        assert_eq!(a.address(), b.address());
        assert!(!format!("{a:?}").contains(a.mnemonic()));
    }

    #[test]
    fn signatures_verify_and_are_low_s() {
        use k256::ecdsa::{signature::Verifier, VerifyingKey};
        let a = Account::from_entropy([3; 32]);
        let sig = a.sign(b"doc");
        let vk = VerifyingKey::from_sec1_bytes(&a.public_key()).unwrap();
        let s = Signature::from_slice(&sig).unwrap();
        assert!(s.normalize_s().is_none(), "already low-S");
        vk.verify(b"doc", &s).unwrap();
    }
}
