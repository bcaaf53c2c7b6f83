// Check chainfleet's Mina keys with independent implementations (run by
// scripts/mina-signer-check.sh, which installs the pinned packages).
//
// stdin: {"network": "testnet", "keys": [{"public_key": "B62…", "private_key": "EK…",
//          "key_file": "<secret box JSON>", "password": "…"}]}   (key_file/password optional)
// For each key:
// - o1js mina-signer derives the public key from our EK… private key: it must equal ours;
// - mina-signer signs a payment from this key to the next one and verifies it against our
//   public key (and must reject it against another key);
// - libsodium itself (crypto_pwhash argon2i13 + crypto_secretbox_open_easy) opens our key
//   file with our password, the way o1js src/mina-signer/tests/from-keystore.ts reads the
//   daemon's key files; the plaintext, Base58Check-encoded as a private key, must be our EK….
// stdout: one JSON report with public keys and booleans only (never a secret). Exit 1 on
// any mismatch.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Client from 'mina-signer';
import sodium from 'libsodium-wrappers-sumo';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const sha256d = (b) =>
  createHash('sha256').update(createHash('sha256').update(b).digest()).digest();

function b58decode(s) {
  let n = 0n;
  for (const c of s) {
    const i = ALPHABET.indexOf(c);
    if (i < 0) throw new Error('not base58');
    n = n * 58n + BigInt(i);
  }
  const bytes = [];
  while (n > 0n) {
    bytes.unshift(Number(n % 256n));
    n /= 256n;
  }
  for (const c of s) {
    if (c !== '1') break;
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
}

function b58encode(bytes) {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = '1' + out;
  }
  return out;
}

function fromBase58Check(s, version) {
  const raw = b58decode(s);
  const body = raw.slice(0, -4);
  if (Buffer.compare(sha256d(body).subarray(0, 4), raw.slice(-4)) !== 0)
    throw new Error('bad checksum');
  if (body[0] !== version) throw new Error(`version byte ${body[0]}`);
  return body.slice(1);
}

function toBase58Check(payload, version) {
  const body = Uint8Array.from([version, ...payload]);
  return b58encode(Uint8Array.from([...body, ...sha256d(body).subarray(0, 4)]));
}

// Mina's secret box fields use version byte 2; private keys 0x5a (o1js versionBytes).
function openKeyFile(json, password) {
  const f = JSON.parse(json);
  if (f.box_primitive !== 'xsalsa20poly1305' || f.pw_primitive !== 'argon2i')
    throw new Error('unexpected primitives');
  const salt = fromBase58Check(f.pwsalt, 2);
  const key = sodium.crypto_pwhash(
    32,
    password,
    salt,
    f.pwdiff[1],
    f.pwdiff[0],
    sodium.crypto_pwhash_ALG_ARGON2I13,
  );
  const plain = sodium.crypto_secretbox_open_easy(
    fromBase58Check(f.ciphertext, 2),
    fromBase58Check(f.nonce, 2),
    key,
    'uint8array',
  );
  return toBase58Check(plain, 0x5a);
}

await sodium.ready;
const input = JSON.parse(readFileSync(0, 'utf8'));
const client = new Client({ network: input.network ?? 'testnet' });
const keys = input.keys;
let ok = keys.length > 0;
const results = keys.map((k, i) => {
  const other = keys[(i + 1) % keys.length].public_key;
  const r = { public_key: k.public_key };
  r.derived_public_key_matches = client.derivePublicKey(k.private_key) === k.public_key;
  try {
    // Throws (rather than returning false) when the keys do not match.
    r.keypair_verified = client.verifyKeypair({
      privateKey: k.private_key,
      publicKey: k.public_key,
    });
  } catch {
    r.keypair_verified = false;
  }
  const signed = client.signPayment(
    { from: k.public_key, to: other, amount: '1000000000', fee: '10000000', nonce: '0', memo: 'chainfleet' },
    k.private_key,
  );
  r.payment_verified =
    signed.publicKey === k.public_key && client.verifyPayment(signed);
  r.forged_payment_rejected =
    other === k.public_key || !client.verifyPayment({ ...signed, publicKey: other });
  if (k.key_file !== undefined) {
    try {
      r.key_file_opens_to_private_key = openKeyFile(k.key_file, k.password) === k.private_key;
    } catch (e) {
      r.key_file_opens_to_private_key = false;
      r.key_file_error = String(e.message ?? e);
    }
    try {
      openKeyFile(k.key_file, k.password + 'x');
      r.wrong_password_rejected = false;
    } catch {
      r.wrong_password_rejected = true;
    }
  }
  for (const [name, v] of Object.entries(r)) if (v === false) ok = false;
  return r;
});
console.log(JSON.stringify({ ok, checked: results.length, results }, null, 2));
process.exit(ok ? 0 : 1);
