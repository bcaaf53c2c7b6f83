//! A real run of the Komodo example's compose project on a Docker engine, with the recording
//! stand-ins of komodod and iguana (image `chainfleet/komodo-dpow:0.8.1` from
//! `scripts/images.sh`, sources in `scripts/standins/komodo/`): komodod and iguana cannot be
//! pulled or built here (README, "Komodo").
//!
//! What runs for real: the generated image (Dockerfile, entrypoint, secrets installed from
//! the secrets tree), the generated launchers (`komodo-run.sh`, `iguana-run.sh`), the health
//! checks compose runs (`getinfo` with each assetchain's credentials, iguana's RPC), the
//! published ports and the project network. Checked: every service turns healthy; each
//! assetchain daemon got the spec's flags (`-ac_name`, `-ac_supply`, `-ac_*`, ports, conf,
//! `-addnode` of the seed) and reached its `-addnode` peer; the notary's start script made the
//! upstream notary calls in order (`addnotary`, `addcoin` per assetchain reaching the seed's
//! daemon by URL with the credentials it installed, `walletpassphrase` with the passphrase of
//! the secrets tree, `dpow` per assetchain with the pubkey of the secrets tree); exactly the
//! listening p2p ports are published; a probe with wrong credentials fails. `docker compose
//! down -v` always runs (a Drop guard).

mod common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::*;

const EXAMPLE: &str = "komodo-notary.yaml";
const HOME: &str = "/home/komodo/.komodo";
const TIMEOUT: Duration = Duration::from_secs(240);

/// The example with its published ports bound to 127.0.0.1.
fn test_spec() -> String {
    let text = std::fs::read_to_string(root().join("examples").join(EXAMPLE)).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("compose:") {
            let l = line.trim_end().trim_end_matches('}').trim_end();
            out.push_str(&format!("{l}, host_ip: 127.0.0.1 }}\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `key=value` of a secrets-tree file.
fn secret_value(secrets: &std::path::Path, rel: &str, key: &str) -> String {
    let text = std::fs::read_to_string(secrets.join(rel)).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{rel} has no {key}="))
        .to_string()
}

/// iguana's `netmagic` for komodod's signed `magic` (the launcher's conversion).
fn netmagic(magic: i64) -> String {
    let m = (magic as u32).to_le_bytes();
    hex::encode(m)
}

#[test]
fn komodo_notary_compose_project_starts_and_notarises_with_stand_ins() {
    let Some(docker) = docker() else { return };
    let t_all = Instant::now();
    let spec = test_spec();
    let (_tmp, out, secrets) = generate_text(EXAMPLE, &spec);
    let net = chainfleet::validate(EXAMPLE, spec.as_bytes(), &out)
        .unwrap_or_else(|d| panic!("test spec is invalid: {d:?}"))
        .network;
    let project = ComposeProject {
        docker: docker.clone(),
        dir: out.clone(),
    };

    let t = Instant::now();
    project.compose_ok(&["up", "-d", "--build"]);
    eprintln!("compose up --build: {:.1} s", t.elapsed().as_secs_f64());

    // Every service healthy.
    let t = Instant::now();
    let services: Vec<String> = net.nodes.iter().map(|n| n.name.clone()).collect();
    for s in &services {
        let waited = Instant::now();
        loop {
            let h = project.health(s);
            if h == "healthy" {
                break;
            }
            if waited.elapsed() > TIMEOUT {
                panic!(
                    "{s} is {h} after {TIMEOUT:?}; logs:\n{}",
                    project.logs(&["--tail", "60"])
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    eprintln!(
        "all {} services healthy: {:.1} s after up",
        services.len(),
        t.elapsed().as_secs_f64()
    );

    // Assetchain daemons: the spec's flags, and every -addnode peer reached.
    let seed = net.node("seed-0").unwrap();
    for node in ["seed-0", "chain-0", "chain-1"] {
        for ac in &net.chain.assetchains {
            let rec = wait_for(
                &format!("{node} records {}", ac.name),
                TIMEOUT,
                Duration::from_millis(500),
                || {
                    project.exec(
                        node,
                        &format!("cat {HOME}/{0}/standin-komodod.json", ac.name),
                    )
                },
            );
            let rec: Value = serde_json::from_str(&rec).unwrap();
            let args: Vec<String> = rec["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            let mut want = vec![
                format!("-ac_name={}", ac.name),
                format!("-ac_supply={}", ac.supply),
            ];
            want.extend(ac.params.iter().map(|(k, v)| format!("-ac_{k}={v}")));
            want.extend([
                format!("-datadir={HOME}/{}", ac.name),
                format!("-conf={HOME}/{0}/{0}.conf", ac.name),
                format!("-port={}", ac.p2p_port),
                format!("-rpcport={}", ac.rpc_port),
                "-bind=0.0.0.0".into(),
                "-rpcbind=0.0.0.0".into(),
            ]);
            if node != "seed-0" {
                want.push(format!("-addnode={}:{}", seed.compose_ip, ac.p2p_port));
            }
            assert_eq!(args, want, "{node} {}", ac.name);
            if node != "seed-0" {
                let peers = wait_for(
                    &format!("{node} {} reaches the seed", ac.name),
                    TIMEOUT,
                    Duration::from_millis(500),
                    || project.exec(node, &format!("cat {HOME}/{}/standin-peers.json", ac.name)),
                );
                assert!(
                    peers.contains(&format!("{}:{}", seed.compose_ip, ac.p2p_port)),
                    "{node} {}: {peers}",
                    ac.name
                );
            }
        }
    }

    // The notary procedure, in order, with the secrets tree's passphrase and pubkey.
    let passphrase = secret_value(&secrets, "notaries/notary-0/passphrase.txt", "passphrase");
    let pubkey = secret_value(&secrets, "notaries/notary-0/pubkey.txt", "pubkey");
    let acs: Vec<String> = net
        .chain
        .assetchains
        .iter()
        .map(|a| a.name.clone())
        .collect();
    let calls = wait_for(
        "the notary's dpow calls",
        TIMEOUT,
        Duration::from_millis(500),
        || {
            let text = project.exec("notary-0", &format!("cat {HOME}/iguana/work/calls.jsonl"))?;
            let calls: Vec<Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            (calls.iter().filter(|c| c["method"] == "dpow").count() == acs.len()).then_some(calls)
        },
    );
    let methods: Vec<String> = calls
        .iter()
        .map(|c| c["method"].as_str().unwrap().to_string())
        .filter(|m| m != "myipaddr")
        .collect();
    let mut want = vec!["addnotary".to_string()];
    want.extend(acs.iter().map(|_| "addcoin".to_string()));
    want.push("walletpassphrase".into());
    want.extend(acs.iter().map(|_| "dpow".to_string()));
    assert_eq!(methods, want, "{calls:#?}");
    let notary = net.node("notary-0").unwrap();
    let by = |m: &'static str| calls.iter().filter(move |c| c["method"] == m);
    assert_eq!(
        by("addnotary").next().unwrap()["ipaddr"],
        notary.compose_ip.to_string()
    );
    for (call, ac) in by("addcoin").zip(&net.chain.assetchains) {
        assert_eq!(call["coin"], ac.name.as_str());
        assert_eq!(
            call["rpchost"],
            format!("{}:{}", seed.compose_ip, ac.rpc_port),
            "iguana reaches the seed's daemon by URL"
        );
        assert_eq!(call["conf"], format!("{HOME}/{0}/{0}.conf", ac.name));
        assert!(call.get("error").is_none(), "{call}");
        assert_eq!(
            call["daemon"]["name"],
            ac.name.as_str(),
            "getinfo with the installed credentials"
        );
        let magic = call["daemon"]["magic"].as_i64().unwrap();
        assert_eq!(call["netmagic"], netmagic(magic));
        assert_eq!(
            (call["p2p"].as_u64(), call["rpc"].as_u64()),
            (Some(ac.p2p_port as u64), Some(ac.rpc_port as u64))
        );
    }
    let wp = by("walletpassphrase").next().unwrap();
    assert_eq!(wp["passphrase"], passphrase.as_str());
    assert_eq!(wp["timeout"], 9999999);
    for (call, ac) in by("dpow").zip(&acs) {
        assert_eq!(call["symbol"], ac.as_str());
        assert_eq!(call["pubkey"], pubkey.as_str());
    }
    let logs = String::from_utf8_lossy(
        &run(project.compose().args(["logs", "--no-color", "notary-0"])).stdout,
    )
    .into_owned();
    assert!(
        !logs.contains(&passphrase),
        "the passphrase reached the logs"
    );

    // Published: exactly the seed's assetchain p2p ports, each with a listener behind it.
    for n in &net.nodes {
        let mut published = Vec::new();
        for p in &n.ports {
            let o = run(project
                .compose()
                .args(["port", &n.name, &p.container.to_string()]));
            let addr = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if o.status.success() && !addr.is_empty() && !addr.ends_with(":0") {
                published.push((p.name.clone(), addr));
            }
        }
        let want: Vec<(String, String)> = n
            .ports
            .iter()
            .filter_map(|p| Some((p.name.clone(), format!("127.0.0.1:{}", p.compose_host?))))
            .collect();
        assert_eq!(published, want, "{}", n.name);
        for (_, addr) in &published {
            TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2))
                .unwrap_or_else(|e| panic!("{addr} of {}: {e}", n.name));
        }
    }
    assert!(seed.ports.iter().all(|p| !p.name.starts_with("p2p")));

    // The probe checks credentials: the same call with wrong ones fails.
    let bad = project.exec(
        "seed-0",
        "printf 'rpcuser=nobody\\nrpcpassword=wrong\\n' >/tmp/bad.conf && \
         CHAINFLEET_HOME=/tmp /usr/local/bin/chainfleet-healthcheck 8923 --rpc \
         '{\"jsonrpc\":\"1.0\",\"id\":\"health\",\"method\":\"getinfo\",\"params\":[]}' bad.conf",
    );
    assert!(bad.is_none(), "a probe with wrong credentials passed");
    eprintln!(
        "komodo notary network, stand-ins: {:.1} s in all",
        t_all.elapsed().as_secs_f64()
    );
}
