//! Mina networks: libp2p keys and peer IDs, seed peer lists, block producer and SNARK
//! coordinator/worker launch commands.
//!
//! What chainfleet generates per node (from the network seed):
//! - a libp2p Ed25519 key, its peer ID (the node ID, `12D3KooW…`) and the key file
//!   `keys/libp2p-key` in the format `mina libp2p generate-keypair` writes: a libsodium
//!   secret box JSON (argon2i + xsalsa20poly1305) around `b64(private),b64(public),peer_id`.
//!   The box is sealed with the empty password and the daemon gets `MINA_LIBP2P_PASS=""`:
//!   the file itself only ever travels through the target's secret mechanism, where a
//!   password would travel too, so a password would add nothing but a second secret.
//!
//! Staking keys, passwords, the SNARK coordinator's fee key and the genesis ledger
//! (runtime config) are generated from the seed too: see `ledger`. Every daemon
//! reads the runtime config with `--config-file <home>/genesis.json`.
//!
//! Daemon flags are those `mina daemon` defines (MinaProtocol/mina
//! `src/app/cli/src/cli_entrypoint/mina_cli_entrypoint.ml`, `setup_daemon`: `--external-port`,
//! `--client-port`, `--rest-port`, `--metrics-port`, `--peer`, `--seed`,
//! `--block-producer-key`, `--run-snark-coordinator PUBLICKEY`, `--snark-worker-fee`,
//! `--insecure-rest-server`, `--external-ip`; `--libp2p-keypair` per docs.minaprotocol.com
//! "Generating a libp2p Key Pair"). Workers run `mina internal snark-worker --daemon-address
//! HOST:PORT --proof-level full --shutdown-on-disconnect false` (`internal_commands` there,
//! flags in `src/lib/snark_worker/functor.ml` `command_from_rpcs`); the daemon spawns its own
//! workers the same way against its client port, which is why workers dial the
//! coordinator's `client` port.

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use sha2::{Digest, Sha256};
use xsalsa20poly1305::aead::{Aead, KeyInit};
use xsalsa20poly1305::XSalsa20Poly1305;

use super::family::{ChainFamily, Companion, Healthy, Launch, Metrics, Probe};
use super::runtime::Runtime;
use super::text::Text;
use super::{Artifacts, NodeArtifacts, SecretFile};
use crate::diag::Diagnostics;
use crate::files::FileEntry;
use crate::keys::{Ed25519, Seed};
use crate::model::{Network, Node, Role};

/// Where the libp2p key file sits in a node's home.
pub const LIBP2P_KEY_PATH: &str = "keys/libp2p-key";
/// Where a block producer's staking key sits in its home (generated: `ledger`).
pub use ledger::BLOCK_PRODUCER_KEY_PATH;

pub mod ledger;

/// The PostgreSQL image of archive nodes (the official image's Debian variant; its
/// entrypoint creates the user and database from `POSTGRES_*` and reads `*_FILE` secrets).
pub const POSTGRES_IMAGE: &str = "postgres:15-bookworm";
/// The archive process's port (`mina-archive run --server-port`; Mina's archive-node chart
/// uses 3086).
pub const ARCHIVE_SERVER_PORT: u16 = 3086;
/// PostgreSQL's port.
pub const POSTGRES_PORT: u16 = 5432;
/// The archive database and its owner.
pub const ARCHIVE_DB: &str = "archive";
/// Secret key and home path of an archive node's PostgreSQL password.
pub const ARCHIVE_DB_PASSWORD_KEY: &str = "postgres_password";
const ARCHIVE_DB_PASSWORD_PATH: &str = "keys/postgres-password";
/// Where the archive image carries the schema: the `mina-archive` package installs
/// `create_schema.sql` in `/etc/mina/archive`, the first place the archive's own tools look
/// (`Scripts.possible_locations` in MinaProtocol/mina `src/app/archive`).
pub const ARCHIVE_SCHEMA: &str = "/etc/mina/archive/create_schema.sql";

/// The archive container's start-up: wait for PostgreSQL, create the schema once (Mina's
/// archive-node chart runs `psql -f create_schema.sql` in a bootstrap Job, `helm/archive-node/
/// templates/db-bootstrap.yaml`, fetching the file from GitHub; here it comes from the
/// image), then run `mina-archive run --postgres-uri … --server-port 3086` as the chart does
/// (`templates/archive.yaml`). The password comes from the environment or a file.
pub fn archive_script() -> String {
    format!(
        r#"set -eu
if [ -n "${{POSTGRES_PASSWORD_FILE:-}}" ]; then POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE"); fi
uri="postgres://{db}:${{POSTGRES_PASSWORD:?no PostgreSQL password}}@127.0.0.1:{pg}/{db}"
until pg_isready -q -d "$uri"; do sleep 1; done
if [ -z "$(psql -tA -d "$uri" -c "SELECT to_regclass('public.blocks')")" ]; then
  echo "chainfleet: creating the archive schema from {schema}"
  psql -v ON_ERROR_STOP=1 -q -d "$uri" -f {schema}
fi
exec mina-archive run --postgres-uri "$uri" --server-port {port}
"#,
        db = ARCHIVE_DB,
        pg = POSTGRES_PORT,
        schema = ARCHIVE_SCHEMA,
        port = ARCHIVE_SERVER_PORT,
    )
}

/// An archive node's PostgreSQL and archive process.
fn archive_companions(net: &Network) -> Vec<Companion> {
    let Some(image) = net.chain.archive_image.clone() else {
        return Vec::new();
    };
    let secret = vec![(
        "POSTGRES_PASSWORD".to_string(),
        ARCHIVE_DB_PASSWORD_KEY.to_string(),
    )];
    let postgres = Companion {
        name: "postgres",
        image: POSTGRES_IMAGE.into(),
        entrypoint: Vec::new(),
        args: Vec::new(),
        env: [
            ("POSTGRES_USER", ARCHIVE_DB),
            ("POSTGRES_DB", ARCHIVE_DB),
            // A subfolder: the volume's root may hold lost+found, which initdb refuses.
            ("PGDATA", "/var/lib/postgresql/data/pgdata"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        secret_env: secret.clone(),
        data_dir: Some("/var/lib/postgresql/data".into()),
        scratch_dirs: vec!["/var/run/postgresql".into(), "/tmp".into()],
        probe_port: Some(POSTGRES_PORT),
    };
    let archive = Companion {
        name: "archive",
        image,
        // The image's own init (its ENTRYPOINT runs dumb-init too): the archive process is
        // not PID 1, so it gets SIGTERM's default action and stops at once.
        entrypoint: vec!["/usr/bin/dumb-init".into(), "/bin/sh".into(), "-c".into()],
        args: vec![archive_script()],
        env: Default::default(),
        secret_env: secret,
        data_dir: None,
        scratch_dirs: vec!["/tmp".into()],
        probe_port: Some(ARCHIVE_SERVER_PORT),
    };
    vec![postgres, archive]
}

/// libsodium's argon2i "interactive" limits (`crypto_pwhash_argon2i_*_INTERACTIVE`). The
/// file records them (`pwdiff`) and the daemon derives the key with what the file says.
const PW_MEM_LIMIT_BYTES: u32 = 33_554_432;
const PW_OPS_LIMIT: u32 = 4;
/// Base58Check version byte of Mina's secret box fields (`secret_box_byteswr`).
const SECRET_BOX_VERSION: u8 = 0x02;

/// libp2p protobuf `PublicKey { Type = Ed25519, Data = pubkey }`.
pub fn libp2p_public_protobuf(key: &Ed25519) -> Vec<u8> {
    [&[0x08, 0x01, 0x12, 0x20][..], &key.public()].concat()
}

/// libp2p protobuf `PrivateKey { Type = Ed25519, Data = seed ‖ pubkey }` (go-libp2p's
/// `MarshalPrivateKey`, what Mina's libp2p helper stores).
pub fn libp2p_private_protobuf(key: &Ed25519) -> Vec<u8> {
    [&[0x08, 0x01, 0x12, 0x40][..], &key.keypair_bytes()].concat()
}

/// The peer ID: base58btc of the identity multihash (0x00, length 0x24) of the protobuf
/// public key. Ed25519 keys always give `12D3KooW…`.
pub fn peer_id(key: &Ed25519) -> String {
    let pb = libp2p_public_protobuf(key);
    let mh = [&[0x00, pb.len() as u8][..], &pb].concat();
    bs58::encode(mh).into_string()
}

/// The libp2p key of `node`.
pub fn libp2p_key(net: &Network, seed: &Seed, node: &Node) -> Ed25519 {
    Ed25519::from_seed(seed.derive(&net.name, "mina/libp2p", &node.name))
}

fn base58check(payload: &[u8]) -> String {
    let body = [&[SECRET_BOX_VERSION][..], payload].concat();
    let sum = Sha256::digest(Sha256::digest(&body));
    bs58::encode([&body[..], &sum[..4]].concat()).into_string()
}

fn un_base58check(s: &str) -> Result<Vec<u8>, String> {
    let raw = bs58::decode(s).into_vec().map_err(|e| e.to_string())?;
    if raw.len() < 5 {
        return Err("too short".into());
    }
    let (body, sum) = raw.split_at(raw.len() - 4);
    if Sha256::digest(Sha256::digest(body))[..4] != *sum {
        return Err("bad checksum".into());
    }
    if body[0] != SECRET_BOX_VERSION {
        return Err(format!("version byte {:#04x}", body[0]));
    }
    Ok(body[1..].to_vec())
}

fn box_key(password: &[u8], salt: &[u8], mem_bytes: u32, ops: u32) -> Result<[u8; 32], String> {
    // libsodium's crypto_pwhash (argon2i v1.3, one lane, 32-byte output); memory in KiB.
    let params = Params::new(mem_bytes / 1024, ops, 1, Some(32)).map_err(|e| e.to_string())?;
    let mut key = [0u8; 32];
    Argon2::new(Algorithm::Argon2i, Version::V0x13, params)
        .hash_password_into(password, salt, &mut key)
        .map_err(|e| e.to_string())?;
    Ok(key)
}

/// Seal `plaintext` in Mina's secret box JSON with `password`; `nonce` and `salt` come from
/// the seed so the output is deterministic.
pub fn secret_box(plaintext: &[u8], password: &[u8], nonce: &[u8; 24], salt: &[u8; 16]) -> String {
    let key = box_key(password, salt, PW_MEM_LIMIT_BYTES, PW_OPS_LIMIT)
        .expect("fixed argon2 parameters are valid");
    // RustCrypto's xsalsa20poly1305 lays out tag ‖ ciphertext, like crypto_secretbox_easy.
    let ct = XSalsa20Poly1305::new((&key).into())
        .encrypt(nonce.into(), plaintext)
        .expect("xsalsa20poly1305 encryption of a short buffer cannot fail");
    serde_json::json!({
        "box_primitive": "xsalsa20poly1305",
        "pw_primitive": "argon2i",
        "nonce": base58check(nonce),
        "pwsalt": base58check(salt),
        "pwdiff": [PW_MEM_LIMIT_BYTES, PW_OPS_LIMIT],
        "ciphertext": base58check(&ct),
    })
    .to_string()
}

/// Open a Mina secret box JSON (used by tests against real Mina key files).
pub fn open_secret_box(json: &str, password: &[u8]) -> Result<Vec<u8>, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let field = |k: &str| {
        v[k].as_str()
            .ok_or_else(|| format!("`{k}` missing"))
            .and_then(un_base58check)
    };
    let nonce = field("nonce")?;
    let salt = field("pwsalt")?;
    let ct = field("ciphertext")?;
    let mem = v["pwdiff"][0].as_u64().ok_or("pwdiff")? as u32;
    let ops = v["pwdiff"][1].as_u64().ok_or("pwdiff")? as u32;
    if nonce.len() != 24 {
        return Err("nonce is not 24 bytes".into());
    }
    let key = box_key(password, &salt, mem, ops)?;
    XSalsa20Poly1305::new((&key).into())
        .decrypt(nonce.as_slice().into(), ct.as_slice())
        .map_err(|_| "wrong password or corrupted box".to_string())
}

/// The libp2p key file of `node`: Mina's `Keypair.to_string` (`b64(private),b64(public),
/// peer_id`, both keys as libp2p protobufs) in a secret box sealed with the empty password.
pub fn libp2p_key_file(net: &Network, seed: &Seed, node: &Node) -> String {
    let key = libp2p_key(net, seed, node);
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let plain = format!(
        "{},{},{}",
        b64(&libp2p_private_protobuf(&key)),
        b64(&libp2p_public_protobuf(&key)),
        peer_id(&key)
    );
    let n = seed.derive(&net.name, "mina/libp2p-box-nonce", &node.name);
    let s = seed.derive(&net.name, "mina/libp2p-box-salt", &node.name);
    let nonce: [u8; 24] = n[..24].try_into().expect("24 of 32 bytes");
    let salt: [u8; 16] = s[..16].try_into().expect("16 of 32 bytes");
    secret_box(plain.as_bytes(), b"", &nonce, &salt)
}

/// Build the artifacts of a Mina network.
pub fn build(net: &Network, seed: &Seed) -> Result<Artifacts, Diagnostics> {
    let mut a = Artifacts::default();
    for node in &net.nodes {
        let mut na = NodeArtifacts::default();
        if node.role != Role::SnarkWorker {
            // Workers do not join the gossip network; everyone else gets a stable identity.
            let key = libp2p_key(net, seed, node);
            let source = format!("nodes/{}/{LIBP2P_KEY_PATH}", node.name);
            a.secrets.insert(
                source.clone(),
                FileEntry::text(libp2p_key_file(net, seed, node)),
            );
            na.node_id = Some(peer_id(&key));
            na.addresses
                .insert("libp2p_pubkey".into(), hex::encode(key.public()));
            na.secret_files.push(SecretFile {
                key: "libp2p_key".into(),
                home_path: LIBP2P_KEY_PATH.into(),
                source,
            });
        }
        if node.role == Role::Archive {
            // The archive's PostgreSQL password: only in the secrets tree, delivered to the
            // PostgreSQL and archive containers by the target's secret store.
            let source = format!("nodes/{}/{ARCHIVE_DB_PASSWORD_PATH}", node.name);
            let pw = seed.derive(&net.name, "mina/archive-postgres", &node.name);
            a.secrets
                .insert(source.clone(), FileEntry::text(hex::encode(&pw[..16])));
            na.secret_files.push(SecretFile {
                key: ARCHIVE_DB_PASSWORD_KEY.into(),
                home_path: ARCHIVE_DB_PASSWORD_PATH.into(),
                source,
            });
        }
        a.nodes.insert(node.name.clone(), na);
    }
    // Staking keys, passwords, daemon.json files and the runtime config.
    ledger::build(net, seed, &mut a);
    Ok(a)
}

/// The Mina family: libp2p keys, seeds, block producers, SNARK coordinators and workers.
pub struct Mina;

impl ChainFamily for Mina {
    fn build(&self, net: &Network, seed: &Seed) -> Result<Artifacts, Diagnostics> {
        build(net, seed)
    }
    fn launch(&self, net: &Network, node: &Node, rt: &Runtime<'_>) -> Launch {
        launch(net, node, rt)
    }
    /// A libp2p multiaddr: `/ip4/<ip>/tcp/<port>/p2p/<id>`, `/dns4/<name>/…` for names.
    fn peer_address(&self, id: Option<&str>, host: &Text, port: &Text) -> Text {
        let ip = host
            .literal()
            .is_some_and(|h| h.parse::<std::net::Ipv4Addr>().is_ok());
        let proto = if ip { "ip4" } else { "dns4" };
        let tail = id.map(|id| format!("/p2p/{id}")).unwrap_or_default();
        Text::lit(format!("/{proto}/"))
            .then(host.clone())
            .then("/tcp/")
            .then(port.clone())
            .then(tail)
    }
    /// An archive node runs its archive process and PostgreSQL beside the daemon.
    fn companions(&self, net: &Network, node: &Node) -> Vec<Companion> {
        if node.role == Role::Archive {
            archive_companions(net)
        } else {
            Vec::new()
        }
    }
    fn metrics(&self) -> Option<Metrics> {
        Some(Metrics {
            dialect: "mina",
            height: "Coda_Transition_frontier_max_blocklength_observed",
            peers: "Coda_Network_peers",
            missing_validators: None,
            memory: None,
            cpu_seconds: None,
            last_signed_height: None,
            // `Block_producer` subsystem of the `Coda` namespace (src/lib/mina_metrics/
            // prometheus_metrics/mina_metrics.ml in MinaProtocol/mina).
            slots_won_and_produced: Some((
                "Coda_Block_producer_slots_won",
                "Coda_Block_producer_blocks_produced",
            )),
        })
    }
    /// The GraphQL port, which the daemon opens once it runs (SNARK workers open nothing).
    fn probe(&self, _net: &Network, node: &Node, rt: &Runtime<'_>) -> Option<Probe> {
        rt.port(node, "graphql").map(|port| Probe {
            port,
            http_path: None,
            healthy: Healthy::Listening,
            rpc: None,
        })
    }
}

/// The client trustlist of SNARK coordinator `node`: the address ranges its pool's workers
/// connect from on this target, comma-separated. The daemon admits client-port connections
/// (which is how workers fetch jobs and submit proofs) only from localhost and these
/// (`MINA_CLIENT_TRUSTLIST`, read in `mina_cli_entrypoint.ml`: comma-separated CIDRs).
fn pool_trustlist(net: &Network, node: &Node, rt: &Runtime<'_>) -> Option<Text> {
    let mut cidrs: Vec<Text> = Vec::new();
    for g in net
        .groups
        .iter()
        .filter(|g| g.coordinator.as_deref() == Some(node.group.as_str()))
    {
        for worker in g.nodes.iter().filter_map(|n| net.node(n)) {
            if let Some(c) = rt.target.source_cidr(net, worker) {
                if !cidrs.contains(&c) {
                    cidrs.push(c);
                }
            }
        }
    }
    (!cidrs.is_empty()).then(|| Text::join(cidrs, ","))
}

/// Launch command of a Mina node. Daemons: `daemon` with ports, key, peers and role flags.
/// SNARK workers: `internal snark-worker` against their coordinator's client port.
pub fn launch(net: &Network, node: &Node, rt: &Runtime<'_>) -> Launch {
    let port = |name: &str| rt.port(node, name);
    let group = net.group(&node.group);
    let binary = rt.binary.clone();
    if node.role == Role::Custom {
        // The group's own image and command, as any generic node.
        return super::generic::Generic.launch(net, node, rt);
    }
    if node.role == Role::SnarkWorker {
        let coordinator = rt.peers.persistent.first().and_then(|dial| {
            let coord = net.node(&dial.node)?;
            let client = rt.port(coord, "client")?;
            Some(dial.host.clone().then(format!(":{client}")))
        });
        let mut args: Vec<Text> = vec!["internal".into(), "snark-worker".into()];
        if let Some(c) = coordinator {
            args.extend(["--daemon-address".into(), c]);
        }
        args.extend([
            "--proof-level".into(),
            "full".into(),
            // Keep retrying while the coordinator restarts instead of exiting.
            "--shutdown-on-disconnect".into(),
            "false".into(),
        ]);
        return Launch {
            program: binary,
            args,
            env: Default::default(),
        };
    }
    let mut args: Vec<Text> = vec![
        "daemon".into(),
        "--config-directory".into(),
        rt.home.clone(),
        "--libp2p-keypair".into(),
        rt.home.clone().then(format!("/{LIBP2P_KEY_PATH}")),
        "--config-file".into(),
        rt.home.clone().then(format!("/{}", ledger::RUNTIME_CONFIG)),
    ];
    for (flag, name) in [
        ("--external-port", "p2p"),
        ("--client-port", "client"),
        ("--rest-port", "graphql"),
        ("--metrics-port", "metrics"),
    ] {
        if let Some(p) = port(name) {
            args.extend([flag.into(), p.to_string().into()]);
        }
    }
    if rt.bind_host != "127.0.0.1" {
        // GraphQL listens on localhost only unless told otherwise; in a container it must
        // answer on the pod/task address (exposure is decided by the target).
        args.push("--insecure-rest-server".into());
    }
    if let Some(ip) = rt
        .external_address
        .as_ref()
        .and_then(Text::literal)
        .and_then(|a| a.rsplit_once(':').map(|(h, _)| h.to_string()))
        .filter(|h| h.parse::<std::net::Ipv4Addr>().is_ok())
    {
        args.extend(["--external-ip".into(), ip.into()]);
    }
    if node.peers.seed_mode {
        args.push("--seed".into());
    }
    for d in rt.peers.seeds.iter().chain(&rt.peers.persistent) {
        args.extend(["--peer".into(), d.address.clone()]);
    }
    if node.role == Role::Archive {
        // The archive process runs beside the daemon, in its network namespace.
        args.extend([
            "--archive-address".into(),
            format!("127.0.0.1:{ARCHIVE_SERVER_PORT}").into(),
        ]);
    }
    if node.role == Role::BlockProducer {
        args.extend([
            "--block-producer-key".into(),
            rt.home.clone().then(format!("/{BLOCK_PRODUCER_KEY_PATH}")),
        ]);
    }
    let mut env = std::collections::BTreeMap::new();
    env.insert("MINA_LIBP2P_PASS".to_string(), Text::default());
    if node.role == Role::SnarkCoordinator {
        if let Some(fee) = group.and_then(|g| g.snark_fee.clone()) {
            args.extend(["--snark-worker-fee".into(), fee.into()]);
        }
        if let Some(ws) = group.and_then(|g| g.work_selection) {
            args.extend(["--work-selection".into(), ws.as_str().into()]);
        }
        // The fee key (`run-snark-coordinator`) is in the node's public daemon.json.
        if let Some(trustlist) = pool_trustlist(net, node, rt) {
            env.insert("MINA_CLIENT_TRUSTLIST".to_string(), trustlist);
        }
    }
    // The group's `config:`: daemon flags, checked by the spec checker.
    for (key, value) in group.map(|g| &g.config).into_iter().flatten() {
        if let Ok(flags) = crate::spec::check::daemon_flag_args(key, value) {
            args.extend(flags.into_iter().map(Text::from));
        }
    }
    Launch {
        program: binary,
        args,
        env,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_hex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn protobuf_encoding_matches_libp2p_spec_vector() {
        // libp2p/specs peer-ids/peer-ids.md, "Test vectors": Ed25519 private and public key.
        let private = from_hex("080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e");
        let public =
            from_hex("080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e");
        let key = Ed25519::from_seed(private[4..36].try_into().unwrap());
        assert_eq!(libp2p_private_protobuf(&key), private);
        assert_eq!(libp2p_public_protobuf(&key), public);
    }

    #[test]
    fn peer_id_matches_go_libp2p_generated_key() {
        // data-preservation-programs/filsigner-relayed README.md, "Create test server peer":
        // a go-libp2p key (protobuf, base64) and the peer ID go-libp2p printed for it.
        let pk = base64::engine::general_purpose::STANDARD
            .decode("CAESQKh6mFqQytA2KPTQTs7nHf+AI5b8qYT7slPc0OLqU6etL16KRu1eu18u4JqiyU2RnNvhqTtdg3Pkcz0GV2go5y4=")
            .unwrap();
        let key = Ed25519::from_seed(pk[4..36].try_into().unwrap());
        assert_eq!(libp2p_private_protobuf(&key), pk);
        let id = peer_id(&key);
        assert!(id.starts_with("12D3KooW"), "{id}");
        assert_eq!(id, "12D3KooWD1GwcSwpN9ErEm3TETTUbzveXaMMy1TNEC7XR6vvFQEZ");
    }

    #[test]
    fn opens_a_real_mina_key_file() {
        // ChainSafe/mina-rs secrets/tests/data/test-wallet (written by the Mina daemon) and
        // its password `mina`: proves the KDF mapping, Base58Check version and box layout.
        let file = r#"{"box_primitive":"xsalsa20poly1305","pw_primitive":"argon2i","nonce":"6gqjM2uNavEkeV6DRpc7jtR7H84b5LLY36sJEoX","pwsalt":"BADzTUe8oh125ccdgxafGzfuyCdE","pwdiff":[134217728,6],"ciphertext":"C6akiMy3NarEYxkQ2ta4AweAz67Cq1Qn81VxdX5SQKUXebAEcrY97DRb5AdWxQdG9msbXWUqr"}"#;
        let plain = open_secret_box(file, b"mina").unwrap();
        // A version byte and a 32-byte Pallas scalar.
        assert_eq!(plain.len(), 33);
        assert!(open_secret_box(file, b"wrong").is_err());
    }

    #[test]
    fn secret_box_round_trips_and_is_deterministic() {
        let a = secret_box(b"hello", b"", &[1; 24], &[2; 16]);
        assert_eq!(a, secret_box(b"hello", b"", &[1; 24], &[2; 16]));
        assert_eq!(open_secret_box(&a, b"").unwrap(), b"hello");
        assert!(!a.contains("hello"));
    }

    /// Two pools: each coordinator gets its own fee and work selection, a trustlist of its own
    /// pool's addresses, and its group's `config:` as daemon flags.
    #[test]
    fn coordinators_trust_their_pool_and_take_their_own_settings() {
        use crate::chain::runtime::{process, TestRuntime};
        let yaml = "name: m\nchain: { family: mina, chain_id: m, binary: mina, image: minaprotocol/mina-daemon:3.0.3 }\ngroups:\n  - { name: bp, role: block_producer, config: { max-connections: 40, log-json: true, demo-mode: false, direct-peer: [a, b] } }\n  - { name: ca, role: snark_coordinator, snark_fee: \"0.01\", work_selection: seq }\n  - { name: cb, role: snark_coordinator, snark_fee: \"0.5\" }\n  - { name: wa, role: snark_worker, count: 2, coordinator: ca }\n  - { name: wb, role: snark_worker, coordinator: cb }\ntargets:\n  local: { base_port: 40000 }\n";
        let net = crate::test_network(yaml);
        let a = build(&net, &crate::keys::Seed::from_bytes([3; 32])).unwrap();
        let args = |p: &crate::chain::runtime::NodeProcess| -> Vec<String> {
            p.args.iter().map(|t| t.literal().unwrap()).collect()
        };
        let after = |v: &[String], flag: &str| -> Option<String> {
            v.iter().position(|a| a == flag).map(|i| v[i + 1].clone())
        };
        let rt = TestRuntime::containers();
        let ca = process(&net, &a, net.node("ca-0").unwrap(), &rt);
        let cb = process(&net, &a, net.node("cb-0").unwrap(), &rt);
        assert_eq!(
            after(&args(&ca), "--snark-worker-fee").as_deref(),
            Some("0.01")
        );
        assert_eq!(
            after(&args(&ca), "--work-selection").as_deref(),
            Some("seq")
        );
        assert_eq!(
            after(&args(&cb), "--snark-worker-fee").as_deref(),
            Some("0.5")
        );
        assert!(!args(&cb).contains(&"--work-selection".to_string()));
        // TestRuntime's containers come from 10.0.<index>.0/24; wa-0, wa-1, wb-0 are nodes 3-5.
        let trust =
            |p: &crate::chain::runtime::NodeProcess| p.env["MINA_CLIENT_TRUSTLIST"].literal();
        assert_eq!(trust(&ca).as_deref(), Some("10.0.3.0/24,10.0.4.0/24"));
        assert_eq!(trust(&cb).as_deref(), Some("10.0.5.0/24"));
        let local = process(
            &net,
            &a,
            net.node("ca-0").unwrap(),
            &TestRuntime::local(40000),
        );
        assert_eq!(
            trust(&local).as_deref(),
            Some("127.0.0.1/32"),
            "one entry for the pool"
        );
        let bp = process(&net, &a, net.node("bp-0").unwrap(), &rt);
        assert!(!bp.env.contains_key("MINA_CLIENT_TRUSTLIST"));
        let bp = args(&bp);
        let tail: Vec<&str> = bp[bp.len() - 7..].iter().map(String::as_str).collect();
        assert_eq!(
            tail,
            [
                "--direct-peer",
                "a",
                "--direct-peer",
                "b",
                "--log-json",
                "--max-connections",
                "40"
            ]
        );
    }

    /// An archive node's daemon points at the archive process beside it, which runs with its
    /// PostgreSQL; the password is a secret file of the node, never in the process.
    #[test]
    fn archive_nodes_run_postgres_and_the_archive_process_beside_the_daemon() {
        use crate::chain::runtime::{process, TestRuntime};
        let yaml = "name: m\nchain: { family: mina, chain_id: m, binary: mina, image: minaprotocol/mina-daemon:3.0.3, archive_image: minaprotocol/mina-archive:3.0.3 }\ngroups:\n  - { name: bp, role: block_producer }\n  - { name: arch, role: archive }\ntargets:\n  kubernetes: { namespace: m }\n";
        let net = crate::test_network(yaml);
        let a = build(&net, &crate::keys::Seed::from_bytes([3; 32])).unwrap();
        let rt = TestRuntime::containers();
        let arch = process(&net, &a, net.node("arch-0").unwrap(), &rt);
        let args: Vec<String> = arch.args.iter().map(|t| t.literal().unwrap()).collect();
        let at = args.iter().position(|a| a == "--archive-address").unwrap();
        assert_eq!(args[at + 1], "127.0.0.1:3086");
        let names: Vec<&str> = arch.companions.iter().map(|c| c.name).collect();
        assert_eq!(names, ["postgres", "archive"]);
        let (pg, archive) = (&arch.companions[0], &arch.companions[1]);
        assert_eq!(pg.image, POSTGRES_IMAGE);
        assert_eq!(archive.image, "minaprotocol/mina-archive:3.0.3");
        let secret = (
            "POSTGRES_PASSWORD".to_string(),
            ARCHIVE_DB_PASSWORD_KEY.to_string(),
        );
        assert_eq!(pg.secret_env, std::slice::from_ref(&secret));
        assert_eq!(archive.secret_env, [secret]);
        assert!(archive.args[0]
            .ends_with("exec mina-archive run --postgres-uri \"$uri\" --server-port 3086\n"));
        let sf = arch
            .secret_files
            .iter()
            .find(|s| s.key == ARCHIVE_DB_PASSWORD_KEY)
            .unwrap();
        let pw = &a.secrets[&sf.source].bytes;
        assert_eq!(pw.len(), 32, "128 bits, hex");
        let everything = serde_json::to_string(&arch).unwrap();
        assert!(!everything.contains(std::str::from_utf8(pw).unwrap()));
        // Nobody else gets one.
        let bp = process(&net, &a, net.node("bp-0").unwrap(), &rt);
        assert!(bp.companions.is_empty());
        assert!(!bp
            .args
            .iter()
            .any(|t| t.literal().as_deref() == Some("--archive-address")));
    }

    /// A test service runs its own image and command with the tested group's GraphQL URLs,
    /// and nothing of the chain's: no keys, ports, peers or probe; nobody dials it.
    #[test]
    fn test_services_get_the_tested_groups_graphql_and_nothing_else() {
        use crate::chain::runtime::{process, TestRuntime};
        let yaml = "name: m\nchain: { family: mina, chain_id: m, binary: mina, image: minaprotocol/mina-daemon:3.0.3 }\ngroups:\n  - { name: bp, role: block_producer, count: 2 }\n  - { name: qa, role: custom, image: \"curlimages/curl:8.11.1\", tests: bp, command: [sh, -c, run-tests], env: { LEVEL: smoke } }\ntargets:\n  local: { base_port: 40000 }\n";
        let net = crate::test_network(yaml);
        let a = crate::chain::build(&net, &crate::keys::Seed::from_bytes([3; 32])).unwrap();
        assert!(a.secrets.keys().all(|k| !k.starts_with("nodes/qa-0/")));
        let qa = net.node("qa-0").unwrap();
        assert!(qa.ports.is_empty());
        assert!(net
            .nodes
            .iter()
            .all(|n| !n.peers.persistent.contains(&qa.name) && !n.peers.seeds.contains(&qa.name)));
        let p = process(&net, &a, qa, &TestRuntime::containers());
        assert_eq!(p.image.as_deref(), Some("curlimages/curl:8.11.1"));
        assert_eq!(p.program.literal().as_deref(), Some("sh"));
        let args: Vec<String> = p.args.iter().map(|t| t.literal().unwrap()).collect();
        assert_eq!(args, ["-c", "run-tests"]);
        assert!(p.secret_files.is_empty() && p.probe.is_none() && p.metrics_port.is_none());
        let env = |k: &str| p.env.get(k).and_then(Text::literal);
        assert_eq!(
            env("CHAINFLEET_GRAPHQL_URL").as_deref(),
            Some("http://bp-0:3085/graphql")
        );
        assert_eq!(
            env("CHAINFLEET_GRAPHQL_URLS").as_deref(),
            Some("http://bp-0:3085/graphql,http://bp-1:3085/graphql")
        );
        assert_eq!(env("LEVEL").as_deref(), Some("smoke"));
        // On one host: 127.0.0.1 and each daemon's own port.
        let p = process(&net, &a, qa, &TestRuntime::local(40000));
        let bp1 = net.node("bp-1").unwrap();
        let rt = TestRuntime::local(40000);
        let port = crate::chain::TargetRuntime::port(&rt, bp1, bp1.port("graphql").unwrap());
        assert!(p.env["CHAINFLEET_GRAPHQL_URLS"]
            .literal()
            .unwrap()
            .ends_with(&format!(",http://127.0.0.1:{port}/graphql")));
    }
}
