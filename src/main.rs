//! The `chainfleet` binary: parses the command line, runs the library, prints diagnostics
//! and sets the exit code (0 ok, 1 invalid spec, 2 usage or I/O error, 3 drift).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use chainfleet::cli::{Cli, Command, Format};
use chainfleet::diag::{self, Diagnostics, Style};
use chainfleet::{guide, write};
use chainfleet::{GenerateOptions, SpecInput};

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

/// A one-line progress indicator on stderr for long runs (a 1,000-validator network takes
/// seconds): the current phase, a spinner and the elapsed time, redrawn by a thread and
/// erased when done. Only on a terminal; never under `--quiet` or `--format json`.
struct Progress {
    shared: Option<std::sync::Arc<ProgressState>>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

struct ProgressState {
    start: std::time::Instant,
    phase: std::sync::Mutex<String>,
    done: std::sync::atomic::AtomicBool,
}

impl ProgressState {
    fn draw(&self, frame: usize) {
        const SPIN: [char; 4] = ['|', '/', '-', '\\'];
        let phase = self.phase.lock().map(|p| p.clone()).unwrap_or_default();
        eprint!(
            "\r\x1b[K{} {phase} ({:.1} s)",
            SPIN[frame % SPIN.len()],
            self.start.elapsed().as_secs_f64()
        );
    }
}

impl Progress {
    fn new(enabled: bool) -> Progress {
        if !enabled {
            return Progress {
                shared: None,
                ticker: None,
            };
        }
        let shared = std::sync::Arc::new(ProgressState {
            start: std::time::Instant::now(),
            phase: std::sync::Mutex::new(String::new()),
            done: std::sync::atomic::AtomicBool::new(false),
        });
        let s = shared.clone();
        let ticker = std::thread::spawn(move || {
            let mut frame = 0;
            while !s.done.load(std::sync::atomic::Ordering::Acquire) {
                std::thread::sleep(std::time::Duration::from_millis(100));
                frame += 1;
                if !s.done.load(std::sync::atomic::Ordering::Acquire) {
                    s.draw(frame);
                }
            }
        });
        Progress {
            shared: Some(shared),
            ticker: Some(ticker),
        }
    }

    fn phase(&self, what: &str) {
        if let Some(s) = &self.shared {
            if let Ok(mut p) = s.phase.lock() {
                *p = what.to_string();
            }
            s.draw(0);
        }
    }

    /// Stop and erase the line, before anything else is printed.
    fn finish(&mut self) {
        if let Some(s) = self.shared.take() {
            s.done.store(true, std::sync::atomic::Ordering::Release);
            if let Some(t) = self.ticker.take() {
                let _ = t.join();
            }
            eprint!("\r\x1b[K");
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// True when a progress indicator may be shown.
fn progress_wanted(quiet: bool, format: Format) -> bool {
    !quiet && format == Format::Human && std::io::stderr().is_terminal()
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

/// Warnings on stderr, whatever the format (JSON output carries them too), unless quiet.
fn warn(diags: &Diagnostics, source: &str, quiet: bool) {
    if !quiet && !diags.0.is_empty() {
        eprint!("{}", diag::render(diags, Some(source), style()));
    }
}

/// Report a library error: diagnostics (exit 1) or a plain message (exit 2).
fn fail(e: chainfleet::Error, text: &str, format: Format, generating: bool) -> anyhow::Result<u8> {
    match e {
        chainfleet::Error::Invalid(d) => {
            report(&d, Some(text), format, generating);
            Ok(EXIT_INVALID)
        }
        other => Err(other.into()),
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let quiet = cli.quiet;
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
            chainfleet::init::run(&dir, family.into(), name.as_deref(), quiet)
        }
        Command::Validate { spec, format } => {
            let input = SpecInput::read(&spec)?;
            let text = input.text();
            match input.validate() {
                Ok(mut v) => {
                    for w in chainfleet::seed_warnings(&input, &v) {
                        v.warnings.push(w);
                    }
                    if !quiet {
                        report(&v.warnings, Some(&text), format, false);
                    }
                    if format == Format::Human && !quiet {
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
        Command::Seed { spec } => {
            let input = SpecInput::read(&spec)?;
            let text = input.text();
            match input.validate() {
                Ok(v) => chainfleet::init::new_seed(&input, &v, quiet),
                Err(d) => {
                    report(&d, Some(&text), Format::Human, false);
                    Ok(EXIT_INVALID)
                }
            }
        }
        Command::Keys { spec, format } => {
            let input = SpecInput::read(&spec)?;
            let text = input.text();
            let mut progress = Progress::new(progress_wanted(quiet, format));
            let keys = chainfleet::keys_with_progress(&input, &|p| progress.phase(p));
            progress.finish();
            match keys {
                Ok((v, artifacts)) => {
                    warn(&v.warnings, &text, quiet);
                    match format {
                        Format::Human => {
                            print!("{}", chainfleet::chain::key_table(&v.network, &artifacts))
                        }
                        Format::Json => {
                            let doc = serde_json::json!({
                                "network": v.network.name,
                                "warnings": v.warnings.0,
                                "nodes": chainfleet::chain::key_records(&v.network, &artifacts),
                            });
                            println!("{}", serde_json::to_string_pretty(&doc)?);
                        }
                    }
                    Ok(0)
                }
                Err(e) => fail(e, &text, format, false),
            }
        }
        Command::Generate {
            spec,
            out,
            secrets,
            target,
            check,
            format,
        } => {
            let input = SpecInput::read(&spec)?;
            let text = input.text();
            let options = GenerateOptions {
                targets: target,
                out_dir: out,
                secrets_dir: secrets,
            };
            let mut progress = Progress::new(progress_wanted(quiet, format) && !check);
            let g = match chainfleet::generate_with_progress(&input, &options, &|p| {
                progress.phase(p)
            }) {
                Ok(g) => g,
                Err(e) => {
                    progress.finish();
                    return fail(e, &text, format, true);
                }
            };
            let (out_dir, secrets_dir, output) = (&g.out_dir, &g.secrets_dir, &g.output);
            let trees = write::Trees::resolve(out_dir, secrets_dir)?;
            let out_shown = guide::show(out_dir);
            if check {
                warn(&g.validated.warnings, &text, quiet);
                let drifts = write::check_pair(&trees, &output.public, &output.secrets)?;
                if format == Format::Json {
                    let doc = serde_json::json!({
                        "out_dir": out_shown,
                        "up_to_date": drifts.is_empty(),
                        "stale": drifts.iter().map(|d| d.path.clone()).collect::<Vec<_>>(),
                    });
                    println!("{}", serde_json::to_string_pretty(&doc)?);
                    return Ok(if drifts.is_empty() { 0 } else { EXIT_DRIFT });
                }
                if drifts.is_empty() {
                    if !quiet {
                        eprintln!("{out_shown}: up to date ({} files)", output.public.len());
                    }
                    return Ok(0);
                }
                if !quiet {
                    for d in &drifts {
                        print!("{}", d.diff);
                    }
                }
                eprintln!(
                    "error: {} file(s) in {out_shown} are stale; run `chainfleet generate {}`",
                    drifts.len(),
                    input.display
                );
                return Ok(EXIT_DRIFT);
            }
            progress.phase(&format!(
                "writing {} files",
                output.public.len() + output.secrets.len()
            ));
            let written = write::write_pair(&trees, &output.public, &output.secrets);
            progress.finish();
            warn(&g.validated.warnings, &text, quiet);
            let (public, private) = written?;
            match format {
                Format::Json => {
                    let doc = serde_json::json!({
                        "network": g.guide.network,
                        "out_dir": g.guide.out_dir,
                        "secrets_dir": g.guide.secrets_dir,
                        "readme": g.guide.readme,
                        "public": { "written": public.written.len(), "removed": public.removed.len(), "unchanged": public.unchanged },
                        "secrets": { "written": private.written.len(), "removed": private.removed.len() },
                        "warnings": g.validated.warnings.0,
                        "targets": g.guide.targets,
                    });
                    println!("{}", serde_json::to_string_pretty(&doc)?);
                }
                Format::Human if !quiet => {
                    eprintln!(
                        "{out_shown}: {} written, {} removed, {} unchanged; secrets in {} ({} written, {} removed)",
                        public.written.len(),
                        public.removed.len(),
                        public.unchanged,
                        g.guide.secrets_dir,
                        private.written.len(),
                        private.removed.len()
                    );
                    eprint!("{}", guide::render(&g.guide));
                    eprintln!(
                        "\ntopology, node IDs and every endpoint: {}",
                        g.guide.readme
                    );
                }
                Format::Human => {}
            }
            Ok(0)
        }
    }
}
