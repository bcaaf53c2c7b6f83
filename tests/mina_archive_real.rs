//! A real run of a Mina archive node on compose: the generated project is brought up on the
//! stand-in images of `scripts/images.sh` (a recording `mina` daemon, a recording
//! `mina-archive` with a one-table stand-in schema, and PostgreSQL 15 from Debian behind the
//! official image's entrypoint contract). No Mina binary can be obtained here (README, Mina),
//! so this proves what lives around the archive process, not Mina itself: PostgreSQL starts
//! with the password from the compose secret (not the compose file), the schema file the
//! archive image carries is applied once (a restart does not apply it again), the archive
//! process gets exactly `mina-archive run --postgres-uri postgres://archive:<password>@
//! 127.0.0.1:5432/archive --server-port 3086` and reaches the database with it, and the
//! daemon is given `--archive-address 127.0.0.1:3086`, where the archive process answers
//! from inside the daemon's network namespace. A test service (a custom group with its own
//! image, `tests: producer`) runs its own image and command and reaches the producer's
//! GraphQL at the URL it is given (the daemon stand-in answers GraphQL with a fixed reply).
//! `docker compose down -v` always runs (a Drop guard). Under CI or `CHAINFLEET_REQUIRE_TOOLS=1` a missing engine fails the test.

mod common;

use std::time::{Duration, Instant};

use common::*;

const TIMEOUT: Duration = Duration::from_secs(120);

const SPEC: &str = r#"name: mina-arch
chain:
  family: mina
  chain_id: mina-arch
  binary: mina
  image: minaprotocol/mina-daemon:3.0.3-bullseye-devnet
  archive_image: minaprotocol/mina-archive:3.0.3-bullseye-devnet
  home: /root/.mina-config
  genesis_time: "2026-12-01T00:00:00Z"
keys:
  seed: { insecure_phrase: "chainfleet archive real-run test" }
groups:
  - { name: producer, role: block_producer }
  - { name: archive, role: archive }
  - name: qa
    role: custom
    image: chainfleet/debian:bookworm
    tests: producer
    command: [sh, -c, 'echo "url=$CHAINFLEET_GRAPHQL_URL urls=$CHAINFLEET_GRAPHQL_URLS"; while :; do curl -fsS -X POST -d "{}" "$CHAINFLEET_GRAPHQL_URL" && echo; sleep 1; done']
targets:
  compose: { subnet: 172.30.7.0/24, host_ip: 127.0.0.1, base_port: 27900 }
"#;

#[test]
fn archive_node_runs_postgres_the_schema_and_the_archive_process() {
    let Some(docker) = docker() else { return };
    let t_all = Instant::now();
    let (_tmp, out, secrets) = generate_text("mina-arch.yaml", SPEC);
    let password =
        std::fs::read_to_string(secrets.join("nodes/archive-0/keys/postgres-password")).unwrap();
    let compose_file = std::fs::read_to_string(out.join("compose/docker-compose.yaml")).unwrap();
    assert!(
        !compose_file.contains(password.trim()),
        "the password is not in the compose file"
    );
    let project = ComposeProject {
        docker: docker.clone(),
        dir: out.clone(),
    };

    let t = Instant::now();
    project.compose_ok(&["up", "-d", "--build"]);
    eprintln!("compose up --build: {:.1} s", t.elapsed().as_secs_f64());

    // The archive process starts once PostgreSQL answers and the schema is in.
    let t = Instant::now();
    let listening = "mina-archive stand-in listening on 3086";
    wait_for(
        "the archive process to listen",
        TIMEOUT,
        Duration::from_millis(500),
        || {
            project
                .logs(&["archive-0-archive"])
                .contains(listening)
                .then_some(())
        },
    );
    eprintln!(
        "archive process up: {:.1} s after up",
        t.elapsed().as_secs_f64()
    );
    let logs = project.logs(&["archive-0-archive"]);
    assert_eq!(
        logs.matches("creating the archive schema").count(),
        1,
        "{logs}"
    );
    assert!(
        logs.contains(
            r#"argv ["/usr/local/bin/mina-archive", "run", "--postgres-uri", "postgres://archive:***@127.0.0.1:5432/archive", "--server-port", "3086"]"#
        ),
        "{logs}"
    );
    assert!(logs.contains(r#"tables ["blocks"]"#), "{logs}");
    let pg_logs = project.logs(&["archive-0-postgres"]);
    assert!(
        pg_logs.contains(
            "initialised /var/lib/postgresql/data/pgdata (user archive, database archive)"
        ),
        "{pg_logs}"
    );

    // PostgreSQL holds the schema, and takes the secret's password over TCP (and no other).
    let tables = project
        .exec(
            "archive-0-postgres",
            &format!(
                "PGPASSWORD='{}' psql -h 127.0.0.1 -U archive -d archive -tA -c \"SELECT tablename FROM pg_tables WHERE schemaname = 'public'\"",
                password.trim()
            ),
        )
        .expect("psql with the secret's password");
    assert_eq!(tables.trim(), "blocks");
    assert!(
        project
            .exec(
                "archive-0-postgres",
                "PGPASSWORD=wrong psql -h 127.0.0.1 -U archive -d archive -c 'SELECT 1'"
            )
            .is_none(),
        "a wrong password is refused"
    );

    // The daemon is pointed at the archive process, which answers in its namespace.
    let daemon = project.logs(&["archive-0"]);
    let argv: Vec<&str> = daemon
        .lines()
        .filter_map(|l| l.split_once("|  ").map(|(_, a)| a.trim()))
        .collect();
    let at = argv
        .iter()
        .position(|a| *a == "--archive-address")
        .unwrap_or_else(|| panic!("no --archive-address:\n{daemon}"));
    assert_eq!(argv.get(at + 1), Some(&"127.0.0.1:3086"), "{daemon}");
    project
        .exec(
            "archive-0",
            "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 3086), 5)'",
        )
        .expect("the daemon reaches the archive process at 127.0.0.1:3086");
    // Only archive nodes get one.
    assert!(!project.logs(&["producer-0"]).contains("--archive-address"));

    // The test service: its own image, the producer's GraphQL URL, answered.
    let net = chainfleet::validate("mina-arch.yaml", SPEC.as_bytes(), &out)
        .unwrap_or_else(|d| panic!("test spec is invalid: {d:?}"))
        .network;
    let producer = net.node("producer-0").unwrap();
    let url = format!("http://{}:3085/graphql", producer.compose_ip);
    assert!(compose_file.contains("image: \"chainfleet/debian:bookworm\""));
    let t = Instant::now();
    let qa = wait_for(
        "the test service to reach the producer's GraphQL",
        TIMEOUT,
        Duration::from_millis(500),
        || {
            let l = project.logs(&["qa-0"]);
            l.contains(r#"{"data": {"syncStatus": "STAND_IN"}}"#)
                .then_some(l)
        },
    );
    assert!(qa.contains(&format!("url={url} urls={url}")), "{qa}");
    eprintln!("test service answered: {:.1} s", t.elapsed().as_secs_f64());

    // A restart finds the schema and does not apply it again.
    let t = Instant::now();
    project.compose_ok(&["restart", "archive-0-archive"]);
    wait_for(
        "the archive process to listen again",
        TIMEOUT,
        Duration::from_millis(500),
        || {
            (project
                .logs(&["archive-0-archive"])
                .matches(listening)
                .count()
                == 2)
                .then_some(())
        },
    );
    eprintln!("archive restart: {:.1} s", t.elapsed().as_secs_f64());
    let logs = project.logs(&["archive-0-archive"]);
    assert_eq!(
        logs.matches("creating the archive schema").count(),
        1,
        "{logs}"
    );
    eprintln!(
        "mina archive real run: {:.1} s",
        t_all.elapsed().as_secs_f64()
    );
}
