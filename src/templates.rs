//! Embedded minijinja templates. Files under `templates/` ending in `.j2` are templates;
//! those under `templates/helm/` and `templates/hosts/` use `[[ ]]`/`[% %]` delimiters so
//! Helm's and Ansible's own `{{ }}` pass through untouched. Undefined variables are errors, never empty strings. Filter
//! `sh` quotes a value as one shell word, `yaml_str` as one YAML double-quoted scalar.

use std::sync::OnceLock;

use include_dir::{include_dir, Dir};
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

fn add_all(env: &mut Environment<'static>, dir: &'static Dir<'static>, helm: bool) {
    for file in dir.files() {
        let path = file.path().to_string_lossy().replace('\\', "/");
        if path.ends_with(".j2") && bracketed(&path) == helm {
            if let Some(text) = file.contents_utf8() {
                env.add_template(Box::leak(path.into_boxed_str()), text)
                    .expect("embedded template parses");
            }
        }
    }
    for sub in dir.dirs() {
        add_all(env, sub, helm);
    }
}

/// True for templates whose output is itself templated (Helm, Ansible): they use `[[ ]]`.
fn bracketed(path: &str) -> bool {
    path.starts_with("helm/") || path.starts_with("hosts/")
}

fn env(helm: bool) -> &'static Environment<'static> {
    static PLAIN: OnceLock<Environment<'static>> = OnceLock::new();
    static HELM: OnceLock<Environment<'static>> = OnceLock::new();
    let cell = if helm { &HELM } else { &PLAIN };
    cell.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Output formats differ (YAML, TOML, shell, JSON): templates quote explicitly.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        // `{{ value|sh }}`: one POSIX shell word.
        env.add_filter("sh", |s: String| crate::emit::quote::sh_quote(&s));
        // `{{ value|yaml_str }}`: a YAML double-quoted scalar (JSON string syntax).
        env.add_filter("yaml_str", |s: String| {
            serde_json::to_string(&s).expect("strings serialize")
        });
        let mut syntax = SyntaxConfig::builder();
        syntax
            .keep_trailing_newline(true)
            .trim_blocks(true)
            .lstrip_blocks(true);
        if helm {
            syntax
                .block_delimiters("[%", "%]")
                .variable_delimiters("[[", "]]")
                .comment_delimiters("[#", "#]");
        }
        env.set_syntax(syntax.build().expect("valid delimiters"));
        add_all(&mut env, &TEMPLATES, helm);
        env
    })
}

/// Render the template at `path` (relative to `templates/`, ending in `.j2`).
pub fn render(path: &str, ctx: impl Serialize) -> anyhow::Result<String> {
    let env = env(bracketed(path));
    let tmpl = env
        .get_template(path)
        .map_err(|e| anyhow::anyhow!("template `{path}`: {e:#}"))?;
    tmpl.render(minijinja::value::Serde(ctx))
        .map_err(|e| anyhow::anyhow!("rendering `{path}`: {e:#}"))
}

/// A file copied verbatim from `templates/` (not a template).
pub fn raw(path: &str) -> anyhow::Result<&'static str> {
    TEMPLATES
        .get_file(path)
        .and_then(|f| f.contents_utf8())
        .ok_or_else(|| anyhow::anyhow!("embedded file `{path}` is missing"))
}

/// Every file under `templates/<dir>/` that is not a template, as `(path below dir, text)`,
/// in path order.
pub fn raw_files(dir: &str) -> Vec<(String, &'static str)> {
    fn walk(d: &'static Dir<'static>, out: &mut Vec<(String, &'static str)>) {
        for f in d.files() {
            let path = f.path().to_string_lossy().replace('\\', "/");
            if let (false, Some(text)) = (path.ends_with(".j2"), f.contents_utf8()) {
                out.push((path, text));
            }
        }
        for sub in d.dirs() {
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    if let Some(d) = TEMPLATES.get_dir(dir) {
        walk(d, &mut out);
    }
    let prefix = format!("{dir}/");
    let mut out: Vec<(String, &'static str)> = out
        .into_iter()
        .map(|(p, t)| (p.strip_prefix(&prefix).unwrap_or(&p).to_string(), t))
        .collect();
    out.sort();
    out
}
