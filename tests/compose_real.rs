//! Real runs of the compose target on a Docker engine: the CometBFT (kvstore) and the Cosmos
//! SDK (simd) examples are generated into a temporary folder and brought up with the
//! generated command (`docker compose -f compose/docker-compose.yaml up -d --build`), on the
//! stand-in images of `scripts/images.sh`. Checked: every service healthy, height 5 (time
//! printed), `/validators` is exactly the spec's validators, every validator signs, every
//! Prometheus target is up, every dashboard query returns data, the alert rules pass
//! `promtool check rules --lint-fatal` and the Alertmanager config `amtool check-config`;
//! then a validator is stopped: the chain keeps making blocks, the NodeDown (or missed-blocks)
//! alert reaches a webhook receiver run by this test, and the validator catches up after
//! `start`. `docker compose down -v` always runs at the end (a Drop guard). The test talks
//! to the containers on their project-network addresses (RPC, Prometheus).
//!
//! The engine comes from `scripts/engine.sh start` (DOCKER is the CLI); under CI or
//! `CHAINFLEET_REQUIRE_TOOLS=1` a missing or unreachable engine fails the test.
//!
//! Deviations from the examples, made in the test's copy of each spec: published node ports
//! bind 127.0.0.1 (`targets.compose.host_ip`), Prometheus scrapes every 2 s and NodeDown
//! fires after 10 s (so the Cosmos outage stays far below the downtime-jail window of about
//! 50 blocks), and the alert webhook points at this test's receiver. That receiver listens on
//! the project network's gateway address (a host address only the host and the project's
//! containers reach): a container cannot reach the host's 127.0.0.1. Grafana is the one
//! service not started: no Grafana image can be built offline here; its dashboard's queries
//! are run against Prometheus instead.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::*;

/// One network at a time: both publish Prometheus on 127.0.0.1:9090, and a 2-core machine
/// measures start-up times better with one network running.
static SERIAL: Mutex<()> = Mutex::new(());

/// Total seconds spent in these tests (printed after each).
static TOTAL: Mutex<f64> = Mutex::new(0.0);

const TIMEOUT: Duration = Duration::from_secs(180);

/// Percent-encode a query parameter.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A running compose project of a resolved network (`down -v` on drop, by `ComposeProject`).
struct Project {
    compose: ComposeProject,
    network: chainfleet::model::Network,
    secrets: PathBuf,
}

impl std::ops::Deref for Project {
    type Target = ComposeProject;
    fn deref(&self) -> &ComposeProject {
        &self.compose
    }
}

impl Project {
    /// GET `path` from `ip:port` (a container's address on the project network, which the
    /// host reaches directly); the body as JSON, or `None` when it does not answer.
    fn get(&self, ip: Ipv4Addr, port: u16, path: &str) -> Option<Value> {
        let mut s = TcpStream::connect_timeout(&(ip, port).into(), Duration::from_secs(2)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: {ip}\r\n\r\n").ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).ok()?;
        let text = String::from_utf8_lossy(&buf);
        let (head, body) = text.split_once("\r\n\r\n")?;
        if !head.starts_with("HTTP/1.") || head.split(' ').nth(1) != Some("200") {
            return None;
        }
        serde_json::from_str(body).ok()
    }

    fn rpc(&self, node: &str, path: &str) -> Option<Value> {
        let n = self.network.node(node)?;
        self.get(n.compose_ip, n.port("rpc")?.container, path)
            .and_then(|v| v.get("result").cloned())
    }

    fn height(&self, node: &str) -> Option<u64> {
        self.rpc(node, "/status")?["sync_info"]["latest_block_height"]
            .as_str()?
            .parse()
            .ok()
    }

    fn prometheus(&self, path: &str) -> Option<Value> {
        let ip = self.network.targets.compose.as_ref()?.prometheus_ip;
        self.get(ip, 9090, path)
            .filter(|v| v["status"] == "success")
            .map(|v| v["data"].clone())
    }

    fn validators(&self) -> Vec<String> {
        self.network.validators().map(|n| n.name.clone()).collect()
    }

    /// Consensus address (upper-case hex) → validator name, from the secrets tree.
    fn consensus_addresses(&self) -> BTreeMap<String, String> {
        self.validators()
            .into_iter()
            .map(|v| {
                let path = self
                    .secrets
                    .join(format!("nodes/{v}/config/priv_validator_key.json"));
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let key: Value = serde_json::from_str(&text).unwrap();
                (key["address"].as_str().unwrap().to_uppercase(), v)
            })
            .collect()
    }
}

/// A webhook receiver: every request body it got.
struct Receiver {
    bodies: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    fn start(listener: TcpListener) -> Receiver {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let sink = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(&mut stream);
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let l = line.trim_end();
                    if l.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = l.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; len];
                let _ = reader.read_exact(&mut body);
                sink.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            }
        });
        Receiver { bodies }
    }

    /// The first received alert (firing) about `node` or validator address in `addrs`.
    fn alert_about(&self, node: &str, addr: &str) -> Option<String> {
        let bodies = self.bodies.lock().unwrap();
        for b in bodies.iter() {
            let Ok(v) = serde_json::from_str::<Value>(b) else {
                continue;
            };
            for a in v["alerts"].as_array().into_iter().flatten() {
                let l = &a["labels"];
                let about = l["node"] == node
                    || l["validator_address"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(addr));
                let name = l["alertname"].as_str().unwrap_or("");
                if a["status"] == "firing"
                    && about
                    && matches!(name, "NodeDown" | "ValidatorMissingBlocks")
                {
                    return Some(name.to_string());
                }
            }
        }
        None
    }
}

/// The example's spec with the test's monitoring and compose settings (see the module doc);
/// Grafana on so that its dashboard is generated and its queries checked.
fn test_spec(example: &str, webhook: &str) -> String {
    let text = std::fs::read_to_string(root().join("examples").join(example)).unwrap();
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        let top = !line.starts_with([' ', '#']) && !line.is_empty();
        if top {
            skipping = line.starts_with("monitoring:");
        }
        if skipping {
            continue;
        }
        if line.trim_start().starts_with("compose:") {
            let l = line.trim_end().trim_end_matches('}').trim_end();
            let sep = if l.ends_with('{') { "" } else { "," };
            out.push_str(&format!("{l}{sep} host_ip: 127.0.0.1 }}\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&format!(
        "monitoring:\n  prometheus: true\n  grafana: true\n  scrape_interval_seconds: 2\n  \
         alerts: {{ no_block_minutes: 2, node_down_seconds: 10, missed_blocks: 10, webhooks: [\"{webhook}\"] }}\n"
    ));
    out
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// Bring `example` up and run every check; `gateway` is its compose subnet's first address.
fn run_network(example: &str, gateway: Ipv4Addr) {
    let Some(docker) = docker() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let t_all = Instant::now();

    // A free port for the receiver (bound on the gateway once the network exists).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let webhook = format!("http://{gateway}:{port}/alerts");
    let spec = test_spec(example, &webhook);
    let t = Instant::now();
    let (_tmp, out, secrets) = generate_text(example, &spec);
    let network = chainfleet::validate(example, spec.as_bytes(), &out)
        .unwrap_or_else(|d| panic!("test spec of {example} is invalid: {d:?}"))
        .network;
    let name = network.name.clone();
    let project = Project {
        compose: ComposeProject {
            docker: docker.clone(),
            dir: out.clone(),
        },
        network,
        secrets,
    };

    // Static checks of the monitoring files with the real tools (in the stand-in images).
    let compose_dir = out.join("compose");
    for (image, args) in [
        (
            "prom/prometheus:v2.55.1",
            vec![
                "promtool",
                "check",
                "rules",
                "--lint-fatal",
                "/c/prometheus/alerts.yml",
            ],
        ),
        (
            "prom/prometheus:v2.55.1",
            vec![
                "promtool",
                "check",
                "config",
                "--lint-fatal",
                "/c/prometheus/prometheus.yml",
            ],
        ),
        (
            "prom/alertmanager:v0.27.0",
            vec!["amtool", "check-config", "/c/alertmanager/alertmanager.yml"],
        ),
    ] {
        let o = run(Command::new(&docker)
            .args(["run", "--rm", "--network", "none", "-v"])
            .arg(format!("{}:/c:ro", compose_dir.display()))
            .args(["--entrypoint", args[0], image])
            .args(&args[1..]));
        assert_ok(&o, &args.join(" "));
    }

    eprintln!(
        "{name}: generated and checked with promtool/amtool in {:.1} s",
        secs(t)
    );

    // Every service but Grafana (no offline image; see the module doc).
    let services: Vec<String> = project
        .compose_ok(&["config", "--services"])
        .lines()
        .filter(|s| *s != "grafana")
        .map(str::to_string)
        .collect();
    let mut up = vec!["up", "-d", "--build"];
    up.extend(services.iter().map(String::as_str));
    let t_up = Instant::now();
    project.compose_ok(&up);
    eprintln!(
        "{name}: compose up -d --build returned after {:.1} s",
        secs(t_up)
    );

    let listener = TcpListener::bind((gateway, port))
        .unwrap_or_else(|e| panic!("receiver on {gateway}:{port}: {e}"));
    let receiver = Receiver::start(listener);

    let validators = project.validators();
    let nodes: Vec<String> = project
        .network
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .collect();
    let observer = nodes
        .iter()
        .find(|n| !validators.contains(n))
        .cloned()
        .unwrap_or_else(|| validators[0].clone());

    let h5 = wait_for(
        &format!("{name}: height 5"),
        TIMEOUT,
        Duration::from_millis(500),
        || project.height(&observer).filter(|h| *h >= 5),
    );
    eprintln!(
        "{name}: height {h5} reached {:.1} s after `up` (image build included)",
        secs(t_up)
    );

    // Every service healthy.
    wait_for(
        &format!("{name}: every service healthy"),
        TIMEOUT,
        Duration::from_millis(500),
        || {
            let o = project
                .compose()
                .args(["ps", "--format", "{{.Service}} {{.Health}}"])
                .output()
                .ok()?;
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            let health: BTreeMap<&str, &str> =
                text.lines().filter_map(|l| l.split_once(' ')).collect();
            services
                .iter()
                .all(|s| health.get(s.as_str()) == Some(&"healthy"))
                .then_some(())
        },
    );
    eprintln!(
        "{name}: all {} services healthy after {:.1} s",
        services.len(),
        secs(t_up)
    );

    // Validator set and signatures.
    let addresses = project.consensus_addresses();
    let set: BTreeSet<String> = project
        .rpc(&observer, "/validators?per_page=100")
        .expect("/validators answers")["validators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["address"].as_str().unwrap().to_uppercase())
        .collect();
    let expected: BTreeSet<String> = addresses.keys().cloned().collect();
    assert_eq!(
        set, expected,
        "{name}: /validators is exactly the spec's validators"
    );
    let h = project.height(&observer).unwrap();
    let mut signed = BTreeSet::new();
    for height in h.saturating_sub(3).max(2)..=h {
        let c = project
            .rpc(&observer, &format!("/commit?height={height}"))
            .expect("/commit answers");
        for s in c["signed_header"]["commit"]["signatures"]
            .as_array()
            .unwrap()
        {
            if s["block_id_flag"] == 2 {
                signed.insert(s["validator_address"].as_str().unwrap().to_uppercase());
            }
        }
    }
    assert_eq!(
        signed, expected,
        "{name}: every validator signs (heights ..={h})"
    );

    // Prometheus: every node's target up, every dashboard query has data.
    let t = Instant::now();
    let scraped: BTreeSet<String> = project
        .network
        .nodes
        .iter()
        .filter(|n| n.port("metrics").is_some())
        .map(|n| n.name.clone())
        .collect();
    assert!(!scraped.is_empty(), "{name}: nodes export metrics");
    wait_for(
        &format!("{name}: every Prometheus target up"),
        TIMEOUT,
        Duration::from_millis(500),
        || {
            let d = project.prometheus("/api/v1/targets?state=active")?;
            let up: BTreeSet<String> = d["activeTargets"]
                .as_array()?
                .iter()
                .filter(|t| t["health"] == "up")
                .filter_map(|t| t["labels"]["node"].as_str().map(str::to_string))
                .collect();
            (up == scraped).then_some(())
        },
    );
    eprintln!(
        "{name}: {} Prometheus targets up ({:.1} s)",
        scraped.len(),
        secs(t)
    );
    let dashboard = compose_dir.join("grafana/dashboards/chainfleet.json");
    let d: Value = serde_json::from_str(&std::fs::read_to_string(&dashboard).unwrap()).unwrap();
    let exprs: Vec<(String, String)> = d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["title"].as_str().unwrap().to_string(),
                p["targets"][0]["expr"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(!exprs.is_empty(), "{name}: the dashboard has panels");
    for (title, expr) in &exprs {
        wait_for(
            &format!("{name}: dashboard panel `{title}` ({expr}) returns data"),
            Duration::from_secs(30),
            Duration::from_millis(500),
            || {
                let d = project.prometheus(&format!("/api/v1/query?query={}", encode(expr)))?;
                d["result"]
                    .as_array()
                    .is_some_and(|r| !r.is_empty())
                    .then_some(())
            },
        );
    }
    eprintln!("{name}: {} dashboard queries return data", exprs.len());

    // Fault drill: stop one validator.
    let victim = validators[1].clone();
    let victim_addr = addresses
        .iter()
        .find(|(_, v)| **v == victim)
        .map(|(a, _)| a.clone())
        .unwrap();
    let t_stop = Instant::now();
    project.compose_ok(&["stop", "-t", "10", &victim]);
    let h0 = project.height(&observer).unwrap();
    wait_for(
        &format!("{name}: blocks without {victim}"),
        TIMEOUT,
        Duration::from_millis(500),
        || project.height(&observer).filter(|h| *h >= h0 + 3),
    );
    eprintln!(
        "{name}: chain made 3 blocks after stopping {victim} ({:.1} s)",
        secs(t_stop)
    );
    let alert = wait_for(
        &format!("{name}: an alert about {victim} at the webhook {webhook}"),
        Duration::from_secs(120),
        Duration::from_millis(500),
        || receiver.alert_about(&victim, &victim_addr),
    );
    eprintln!(
        "{name}: {alert} about {victim} reached the webhook {:.1} s after the stop",
        secs(t_stop)
    );
    let outage_blocks = project.height(&observer).unwrap() - h0;
    project.compose_ok(&["start", &victim]);
    let t_start = Instant::now();
    let target = project.height(&observer).unwrap();
    wait_for(
        &format!("{name}: {victim} catches up to {target}"),
        TIMEOUT,
        Duration::from_millis(500),
        || {
            let s = project.rpc(&victim, "/status")?;
            let h: u64 = s["sync_info"]["latest_block_height"]
                .as_str()?
                .parse()
                .ok()?;
            (h >= target && s["sync_info"]["catching_up"] == false).then_some(())
        },
    );
    eprintln!(
        "{name}: {victim} was down {outage_blocks} blocks, caught up {:.1} s after start",
        secs(t_start)
    );
    // Still in the set (not jailed) and signing again.
    let t = Instant::now();
    wait_for(
        &format!("{name}: {victim} signs again"),
        TIMEOUT,
        Duration::from_millis(500),
        || {
            let h = project.height(&observer)?;
            let c = project.rpc(&observer, &format!("/commit?height={h}"))?;
            c["signed_header"]["commit"]["signatures"]
                .as_array()?
                .iter()
                .any(|s| {
                    s["block_id_flag"] == 2
                        && s["validator_address"]
                            .as_str()
                            .is_some_and(|a| a.eq_ignore_ascii_case(&victim_addr))
                })
                .then_some(())
        },
    );
    eprintln!("{name}: {victim} signs again ({:.1} s)", secs(t));

    drop(project);
    let total = secs(t_all);
    let mut sum = TOTAL.lock().unwrap_or_else(|e| e.into_inner());
    *sum += total;
    eprintln!(
        "{name}: compose real run took {total:.1} s; compose tests so far {:.1} s",
        *sum
    );
}

#[test]
fn cometbft_kvstore_compose_network_runs() {
    run_network("cometbft-kvstore.yaml", Ipv4Addr::new(172, 29, 0, 1));
}

#[test]
fn cosmos_devnet_compose_network_runs() {
    run_network("cosmos-devnet.yaml", Ipv4Addr::new(172, 28, 0, 1));
}

/// Every receiver kind the spec offers gives an Alertmanager config that amtool accepts, with
/// credentials as file paths only (Telegram needs Alertmanager 0.26+, newer than the Debian
/// stand-in's amtool, so it is left out here).
#[test]
fn alertmanager_accepts_every_receiver_kind() {
    let Some(docker) = docker() else { return };
    let text = std::fs::read_to_string(root().join("examples/cometbft-kvstore.yaml")).unwrap();
    let text = text.replace(
        "  alerts: { no_block_minutes: 2, missed_blocks: 10 }",
        "  alerts:\n    email: [ops@example.com]\n    smtp: { smarthost: \"smtp.example.com:587\", from: alerts@example.com, username: alerts }\n    \
         webhooks: [\"https://hooks.example.com/x\"]\n    slack: { channel: \"#chain-ops\" }\n    pagerduty: true\n",
    );
    assert!(
        text.contains("pagerduty: true"),
        "the example's alerts line moved"
    );
    let (_tmp, out, _secrets) = generate_text("receivers.yaml", &text);
    let config =
        std::fs::read_to_string(out.join("compose/alertmanager/alertmanager.yml")).unwrap();
    for want in [
        "email_configs",
        "smtp_auth_password_file: \"/run/secrets/smtp-password\"",
        "webhook_configs",
        "api_url_file: \"/run/secrets/slack-webhook-url\"",
        "routing_key_file: \"/run/secrets/pagerduty-routing-key\"",
    ] {
        assert!(
            config.contains(want),
            "alertmanager.yml lacks {want}:\n{config}"
        );
    }
    let compose = std::fs::read_to_string(out.join("compose/docker-compose.yaml")).unwrap();
    assert!(
        compose.contains("alerts/pagerduty-routing-key"),
        "the routing key comes from the secrets tree:\n{compose}"
    );
    let o = run(Command::new(&docker)
        .args(["run", "--rm", "--network", "none", "-v"])
        .arg(format!("{}:/c:ro", out.join("compose").display()))
        .args(["--entrypoint", "amtool", "prom/alertmanager:v0.27.0"])
        .args(["check-config", "/c/alertmanager/alertmanager.yml"]));
    assert_ok(&o, "amtool check-config with every receiver kind");
}
