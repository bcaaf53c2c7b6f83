//! The `chainfleet` binary: parses the command line, runs the library, prints diagnostics
//! and sets the exit code (0 ok, 1 invalid spec, 2 usage or I/O error, 3 drift).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use chainfleet::cli::{Cli, Command, Format};
use chainfleet::diag::{self, Diagnostics, Style};
use chainfleet::emit::{self, Target};
use chainfleet::write;

// Printing never panics: `chainfleet validate x | head` closes the pipe early, and the
// standard macros would panic on the write error. These shadow them in this file.
macro_rules! print {
    ($($t:tt)*) => {{ use std::io::Write as _; let _ = write!(std::io::stdout(), $($t)*); }};
}
macro_rules! println {
    ($($t:tt)*) => {{ use std::io::Write as _; let _ = writeln!(std::io::stdout(), $($t)*); }};
}
macro_rules! eprint {
    ($($t:tt)*) => {{ use std::io::Write as _; let _ = write!(std::io::stderr(), $($t)*); }};
}
macro_rules! eprintln {
    ($($t:tt)*) => {{ use std::io::Write as _; let _ = writeln!(std::io::stderr(), $($t)*); }};
}

const EXIT_INVALID: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_DRIFT: u8 = 3;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn style() -> Style {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if !no_color && std::io::stderr().is_terminal() {
        Style::Color
    } else {
        Style::Plain
    }
}

/// Print diagnostics; returns true when there were errors.
fn report(
    diags: &Diagnostics,
    source: Option<&str>,
    format: Format,
    nothing_written: bool,
) -> bool {
    match format {
        Format::Json => println!("{}", diag::render_json(diags)),
        Format::Human => {
            eprint!("{}", diag::render(diags, source, style()));
            let n = diags.error_count();
            if n > 0 {
                let tail = if nothing_written {
                    "; nothing was written"
                } else {
                    ""
                };
                eprintln!("error: {n} problem{}{tail}", if n == 1 { "" } else { "s" });
            }
        }
    }
    diags.has_errors()
}

struct Input {
    display: String,
    bytes: Vec<u8>,
    dir: PathBuf,
}

impl Input {
    /// The text diagnostics quote, without a byte-order mark (the loader skips it too, so
    /// columns on line 1 agree).
    fn text(&self) -> String {
        let t = String::from_utf8_lossy(&self.bytes);
        t.strip_prefix('\u{feff}').unwrap_or(&t).to_string()
    }
}

fn read_spec(path: &Path) -> anyhow::Result<Input> {
    let bytes = chainfleet::spec::read::read_spec_bytes(path)?;
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(Input {
        display: path.display().to_string(),
        bytes,
        dir,
    })
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Schema => {
            print!("{}", chainfleet::spec::schema::json_schema_text());
            Ok(0)
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "chainfleet",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
        Command::Init { dir, family, name } => {
            chainfleet::init::run(&dir, family.into(), name.as_deref())
        }
        Command::Validate { spec, format } => {
            let input = read_spec(&spec)?;
            let text = input.text();
            match chainfleet::validate(&input.display, &input.bytes, &input.dir) {
                Ok(v) => {
                    report(&v.warnings, Some(&text), format, false);
                    if format == Format::Human {
                        eprintln!(
                            "{}: ok, {} nodes in {} groups",
                            input.display,
                            v.network.nodes.len(),
                            v.network.groups.len()
                        );
                    }
                    Ok(0)
                }
                Err(d) => {
                    report(&d, Some(&text), format, false);
                    Ok(EXIT_INVALID)
                }
            }
        }
        Command::Keys { spec } => {
            let input = read_spec(&spec)?;
            let text = input.text();
            let v = match chainfleet::validate(&input.display, &input.bytes, &input.dir) {
                Ok(v) => v,
                Err(d) => {
                    report(&d, Some(&text), Format::Human, false);
                    return Ok(EXIT_INVALID);
                }
            };
            let seed = match chainfleet::keys::load_seed(
                v.spec.keys.as_ref().map(|k| &k.seed),
                &input.dir,
                &input.display,
            ) {
                Ok(s) => s,
                Err(d) => {
                    report(&Diagnostics(vec![d]), None, Format::Human, false);
                    return Ok(EXIT_INVALID);
                }
            };
            let artifacts = match chainfleet::chain::build(&v.network, &seed) {
                Ok(a) => a,
                Err(d) => {
                    report(&d, Some(&text), Format::Human, false);
                    return Ok(EXIT_INVALID);
                }
            };
            print!("{}", chainfleet::chain::key_table(&v.network, &artifacts));
            Ok(0)
        }
        Command::Generate {
            spec,
            out,
            secrets,
            target,
            check,
            format,
        } => {
            let input = read_spec(&spec)?;
            let text = input.text();
            let v = match chainfleet::validate(&input.display, &input.bytes, &input.dir) {
                Ok(v) => v,
                Err(d) => {
                    report(&d, Some(&text), format, true);
                    return Ok(EXIT_INVALID);
                }
            };
            report(&v.warnings, Some(&text), format, false);
            let net = &v.network;
            let targets: Vec<Target> = if target.is_empty() {
                Target::ALL
                    .into_iter()
                    .filter(|t| t.configured(net))
                    .collect()
            } else {
                let missing: Vec<&str> = target
                    .iter()
                    .filter(|t| !t.configured(net))
                    .map(|t| t.name())
                    .collect();
                if !missing.is_empty() {
                    anyhow::bail!(
                        "the spec does not configure target(s) {}; add them under `targets:`",
                        missing.join(", ")
                    );
                }
                let mut t = target.clone();
                t.sort();
                t.dedup();
                t
            };
            let seed = match chainfleet::keys::load_seed(
                v.spec.keys.as_ref().map(|k| &k.seed),
                &input.dir,
                &input.display,
            ) {
                Ok(s) => s,
                Err(d) => {
                    report(&Diagnostics(vec![d]), None, format, true);
                    return Ok(EXIT_INVALID);
                }
            };
            let artifacts = match chainfleet::chain::build(net, &seed) {
                Ok(a) => a,
                Err(d) => {
                    report(&d, Some(&text), format, true);
                    return Ok(EXIT_INVALID);
                }
            };
            let out_dir = out.unwrap_or_else(|| PathBuf::from("generated").join(&net.name));
            let secrets_dir =
                secrets.unwrap_or_else(|| PathBuf::from(".chainfleet/secrets").join(&net.name));
            let trees = write::Trees::resolve(&out_dir, &secrets_dir)?;
            let cwd = std::env::current_dir()?;
            let secrets_rel = write::relative_path(&cwd.join(&out_dir), &cwd.join(&secrets_dir));
            let cx = emit::Context {
                net,
                artifacts: &artifacts,
                targets: &targets,
                secrets_rel: &secrets_rel,
            };
            let output = emit::emit_all(&cx)?;
            if check {
                let drifts = write::check_pair(&trees, &output.public, &output.secrets)?;
                if drifts.is_empty() {
                    eprintln!(
                        "{}: up to date ({} files)",
                        out_dir.display(),
                        output.public.len()
                    );
                    return Ok(0);
                }
                for d in &drifts {
                    print!("{}", d.diff);
                }
                eprintln!(
                    "error: {} file(s) in {} are stale; run `chainfleet generate {}`",
                    drifts.len(),
                    out_dir.display(),
                    input.display
                );
                return Ok(EXIT_DRIFT);
            }
            let (public, private) = write::write_pair(&trees, &output.public, &output.secrets)?;
            eprintln!(
                "{}: {} written, {} removed, {} unchanged; secrets in {} ({} written, {} removed)",
                out_dir.display(),
                public.written.len(),
                public.removed.len(),
                public.unchanged,
                secrets_dir.display(),
                private.written.len(),
                private.removed.len()
            );
            Ok(0)
        }
    }
}
