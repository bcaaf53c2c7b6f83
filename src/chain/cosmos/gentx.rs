//! Signed genesis transactions (MsgCreateValidator, SIGN_MODE_DIRECT) for Cosmos SDK v0.50,
//! with the protobuf messages written by hand (prost) instead of pulling cosmos-sdk-proto.
//!
//! The node re-encodes the JSON gentx with gogoproto before checking the signature, so the
//! bytes signed here must be the canonical encoding of exactly what the JSON says. Decimal
//! commission rates are the trap: JSON carries `0.100000000000000000`, protobuf carries the
//! 10^18-scaled integer `100000000000000000` (`LegacyDec.Marshal`).

use base64::Engine;
use prost::Message;
use serde_json::{json, Value};

use crate::keys::cosmos::Account;

#[derive(Clone, PartialEq, Message)]
struct Any {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct PubKey {
    #[prost(bytes = "vec", tag = "1")]
    key: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct Description {
    #[prost(string, tag = "1")]
    moniker: String,
    #[prost(string, tag = "2")]
    identity: String,
    #[prost(string, tag = "3")]
    website: String,
    #[prost(string, tag = "4")]
    security_contact: String,
    #[prost(string, tag = "5")]
    details: String,
}

#[derive(Clone, PartialEq, Message)]
struct CommissionRates {
    #[prost(string, tag = "1")]
    rate: String,
    #[prost(string, tag = "2")]
    max_rate: String,
    #[prost(string, tag = "3")]
    max_change_rate: String,
}

#[derive(Clone, PartialEq, Message)]
struct Coin {
    #[prost(string, tag = "1")]
    denom: String,
    #[prost(string, tag = "2")]
    amount: String,
}

#[derive(Clone, PartialEq, Message)]
struct MsgCreateValidator {
    #[prost(message, optional, tag = "1")]
    description: Option<Description>,
    #[prost(message, optional, tag = "2")]
    commission: Option<CommissionRates>,
    #[prost(string, tag = "3")]
    min_self_delegation: String,
    #[prost(string, tag = "4")]
    delegator_address: String,
    #[prost(string, tag = "5")]
    validator_address: String,
    #[prost(message, optional, tag = "6")]
    pubkey: Option<Any>,
    #[prost(message, optional, tag = "7")]
    value: Option<Coin>,
}

#[derive(Clone, PartialEq, Message)]
struct TxBody {
    #[prost(message, repeated, tag = "1")]
    messages: Vec<Any>,
    #[prost(string, tag = "2")]
    memo: String,
}

#[derive(Clone, PartialEq, Message)]
struct Single {
    #[prost(int32, tag = "1")]
    mode: i32,
}

#[derive(Clone, PartialEq, Message)]
struct ModeInfo {
    #[prost(message, optional, tag = "1")]
    single: Option<Single>,
}

#[derive(Clone, PartialEq, Message)]
struct SignerInfo {
    #[prost(message, optional, tag = "1")]
    public_key: Option<Any>,
    #[prost(message, optional, tag = "2")]
    mode_info: Option<ModeInfo>,
    #[prost(uint64, tag = "3")]
    sequence: u64,
}

#[derive(Clone, PartialEq, Message)]
struct Fee {
    #[prost(message, repeated, tag = "1")]
    amount: Vec<Coin>,
    #[prost(uint64, tag = "2")]
    gas_limit: u64,
}

#[derive(Clone, PartialEq, Message)]
struct AuthInfo {
    #[prost(message, repeated, tag = "1")]
    signer_infos: Vec<SignerInfo>,
    #[prost(message, optional, tag = "2")]
    fee: Option<Fee>,
}

#[derive(Clone, PartialEq, Message)]
struct SignDoc {
    #[prost(bytes = "vec", tag = "1")]
    body_bytes: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    auth_info_bytes: Vec<u8>,
    #[prost(string, tag = "3")]
    chain_id: String,
    #[prost(uint64, tag = "4")]
    account_number: u64,
}

const MSG_CREATE_VALIDATOR: &str = "/cosmos.staking.v1beta1.MsgCreateValidator";
const ED25519_PUBKEY: &str = "/cosmos.crypto.ed25519.PubKey";
const SECP256K1_PUBKEY: &str = "/cosmos.crypto.secp256k1.PubKey";
const SIGN_MODE_DIRECT: i32 = 1;
const GAS_LIMIT: u64 = 200_000;

/// A 10^18-scaled decimal as (JSON text, protobuf atomics): `0.100000000000000000` and
/// `100000000000000000` (`LegacyDec.String` and `LegacyDec.Marshal`).
fn dec(atomics: u128) -> (String, String) {
    const ONE: u128 = 1_000_000_000_000_000_000;
    (
        format!("{}.{:018}", atomics / ONE, atomics % ONE),
        atomics.to_string(),
    )
}

/// What one validator's gentx says.
pub struct GenTx<'a> {
    /// Chain ID it is signed for.
    pub chain_id: &'a str,
    /// Commission, description and minimum self-delegation.
    pub settings: &'a crate::model::ValidatorSettings,
    /// Bech32 valoper address of the operator account.
    pub validator_address: &'a str,
    /// Ed25519 consensus public key.
    pub consensus_pubkey: [u8; 32],
    /// Self-delegation amount.
    pub amount: u128,
    /// Bond denomination.
    pub denom: &'a str,
    /// `nodeid@host:port`.
    pub memo: &'a str,
    /// The account number the signature covers: 0 for a chain starting at height 1 (the
    /// ante handler uses 0 for every signer at block height 0), else the signer's real
    /// number, because InitChain then runs at `initial_height`.
    pub account_number: u64,
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

impl GenTx<'_> {
    /// The signed transaction as the SDK's JSON encoder writes it (`gen_txs[]` entry).
    pub fn sign(&self, signer: &Account) -> Value {
        let amount = self.amount.to_string();
        let v = self.settings;
        let [rate, max_rate, max_change] = v.commission.map(dec);
        let min_self = v.min_self_delegation.to_string();
        let msg = MsgCreateValidator {
            description: Some(Description {
                moniker: v.moniker.clone(),
                identity: v.identity.clone(),
                website: v.website.clone(),
                security_contact: v.security_contact.clone(),
                details: v.details.clone(),
            }),
            commission: Some(CommissionRates {
                rate: rate.1.clone(),
                max_rate: max_rate.1.clone(),
                max_change_rate: max_change.1.clone(),
            }),
            min_self_delegation: min_self.clone(),
            // Deprecated in v0.50; `NewMsgCreateValidator` leaves it empty.
            delegator_address: String::new(),
            validator_address: self.validator_address.to_string(),
            pubkey: Some(Any {
                type_url: ED25519_PUBKEY.into(),
                value: PubKey {
                    key: self.consensus_pubkey.to_vec(),
                }
                .encode_to_vec(),
            }),
            value: Some(Coin {
                denom: self.denom.to_string(),
                amount: amount.clone(),
            }),
        };
        let body = TxBody {
            messages: vec![Any {
                type_url: MSG_CREATE_VALIDATOR.into(),
                value: msg.encode_to_vec(),
            }],
            memo: self.memo.to_string(),
        };
        let signer_pub = signer.public_key();
        let auth = AuthInfo {
            signer_infos: vec![SignerInfo {
                public_key: Some(Any {
                    type_url: SECP256K1_PUBKEY.into(),
                    value: PubKey {
                        key: signer_pub.to_vec(),
                    }
                    .encode_to_vec(),
                }),
                mode_info: Some(ModeInfo {
                    single: Some(Single {
                        mode: SIGN_MODE_DIRECT,
                    }),
                }),
                sequence: 0,
            }],
            fee: Some(Fee {
                amount: vec![],
                gas_limit: GAS_LIMIT,
            }),
        };
        let doc = SignDoc {
            body_bytes: body.encode_to_vec(),
            auth_info_bytes: auth.encode_to_vec(),
            chain_id: self.chain_id.to_string(),
            account_number: self.account_number,
        };
        let sig = signer.sign(&doc.encode_to_vec());
        json!({
            "body": {
                "messages": [{
                    "@type": MSG_CREATE_VALIDATOR,
                    "description": {"moniker": v.moniker, "identity": v.identity, "website": v.website, "security_contact": v.security_contact, "details": v.details},
                    "commission": {"rate": rate.0, "max_rate": max_rate.0, "max_change_rate": max_change.0},
                    "min_self_delegation": min_self,
                    "delegator_address": "",
                    "validator_address": self.validator_address,
                    "pubkey": {"@type": ED25519_PUBKEY, "key": b64(&self.consensus_pubkey)},
                    "value": {"denom": self.denom, "amount": amount},
                }],
                "memo": self.memo,
                "timeout_height": "0",
                "extension_options": [],
                "non_critical_extension_options": [],
            },
            "auth_info": {
                "signer_infos": [{
                    "public_key": {"@type": SECP256K1_PUBKEY, "key": b64(&signer_pub)},
                    "mode_info": {"single": {"mode": "SIGN_MODE_DIRECT"}},
                    "sequence": "0",
                }],
                "fee": {"amount": [], "gas_limit": GAS_LIMIT.to_string(), "payer": "", "granter": ""},
                "tip": null,
            },
            "signatures": [b64(&sig)],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_as_the_sdk_writes_them() {
        assert_eq!(
            dec(50_000_000_000_000_000),
            ("0.050000000000000000".into(), "50000000000000000".into())
        );
        assert_eq!(
            dec(1_000_000_000_000_000_000),
            ("1.000000000000000000".into(), "1000000000000000000".into())
        );
    }

    #[test]
    fn pubkey_any_value_is_tagged_key() {
        let v = PubKey { key: vec![7; 32] }.encode_to_vec();
        assert_eq!(&v[..2], &[0x0a, 0x20]);
    }

    #[test]
    fn signature_verifies_over_sign_doc() {
        use k256::ecdsa::{signature::Verifier, Signature, VerifyingKey};
        let acct = Account::from_entropy([1; 32]);
        let settings = crate::model::ValidatorSettings {
            commission: crate::model::resolve::DEFAULT_COMMISSION,
            moniker: "v0".into(),
            identity: String::new(),
            website: String::new(),
            security_contact: String::new(),
            details: String::new(),
            min_self_delegation: 1,
        };
        let g = GenTx {
            chain_id: "c-1",
            settings: &settings,
            validator_address: "cosmosvaloper1x",
            consensus_pubkey: [2; 32],
            amount: 5_000_000,
            denom: "stake",
            memo: "id@h:26656",
            account_number: 0,
        };
        let tx = g.sign(&acct);
        let sig = base64::engine::general_purpose::STANDARD
            .decode(tx["signatures"][0].as_str().unwrap())
            .unwrap();
        // Rebuild the sign doc from the JSON, as the node does.
        let m = &tx["body"]["messages"][0];
        assert_eq!(m["commission"]["rate"], "0.100000000000000000");
        let body = TxBody {
            messages: vec![Any {
                type_url: MSG_CREATE_VALIDATOR.into(),
                value: MsgCreateValidator {
                    description: Some(Description {
                        moniker: "v0".into(),
                        ..Default::default()
                    }),
                    commission: Some(CommissionRates {
                        rate: "100000000000000000".into(),
                        max_rate: "200000000000000000".into(),
                        max_change_rate: "10000000000000000".into(),
                    }),
                    min_self_delegation: "1".into(),
                    delegator_address: String::new(),
                    validator_address: "cosmosvaloper1x".into(),
                    pubkey: Some(Any {
                        type_url: ED25519_PUBKEY.into(),
                        value: [&[0x0a, 0x20][..], &[2; 32]].concat(),
                    }),
                    value: Some(Coin {
                        denom: "stake".into(),
                        amount: "5000000".into(),
                    }),
                }
                .encode_to_vec(),
            }],
            memo: "id@h:26656".into(),
        };
        let auth_any = [&[0x0a, 0x21][..], &acct.public_key()].concat();
        let auth = AuthInfo {
            signer_infos: vec![SignerInfo {
                public_key: Some(Any {
                    type_url: SECP256K1_PUBKEY.into(),
                    value: auth_any,
                }),
                mode_info: Some(ModeInfo {
                    single: Some(Single { mode: 1 }),
                }),
                sequence: 0,
            }],
            fee: Some(Fee {
                amount: vec![],
                gas_limit: 200_000,
            }),
        };
        let doc = SignDoc {
            body_bytes: body.encode_to_vec(),
            auth_info_bytes: auth.encode_to_vec(),
            chain_id: "c-1".into(),
            account_number: 0,
        }
        .encode_to_vec();
        let vk = VerifyingKey::from_sec1_bytes(&acct.public_key()).unwrap();
        vk.verify(&doc, &Signature::from_slice(&sig).unwrap())
            .unwrap();
    }
}
