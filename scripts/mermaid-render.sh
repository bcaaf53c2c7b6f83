#!/usr/bin/env bash
# Render Mermaid with the real renderer: @mermaid-js/mermaid-cli (pinned in
# scripts/mermaid/package-lock.json, installed with `npm ci` into
# ${CHAINFLEET_CACHE:-$HOME/.cache/chainfleet}/node/mermaid, outside the checkout) driving
# Debian's chromium (pinned below; puppeteer's own browser download is skipped).
#
# Usage: scripts/mermaid-render.sh --install        install if needed (a second run is a no-op)
#        scripts/mermaid-render.sh IN.md OUT_DIR    render every ```mermaid block of IN.md
#                                                   into OUT_DIR; exit non-zero on any error
set -euo pipefail

CHROMIUM_VERSION=156.0.8078.108-1~deb12u1
here=$(cd "$(dirname "$0")" && pwd)
cache="${CHAINFLEET_CACHE:-$HOME/.cache/chainfleet}/node/mermaid"
say() { echo "mermaid-render: $*" >&2; }

install() {
  command -v node >/dev/null 2>&1 || { say "node is not on PATH"; exit 2; }
  command -v npm >/dev/null 2>&1 || { say "npm is not on PATH"; exit 2; }
  if [ "$(dpkg-query -W -f='${Version}' chromium 2>/dev/null || true)" != "$CHROMIUM_VERSION" ]; then
    say "installing chromium $CHROMIUM_VERSION (Debian)"
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
      "chromium=$CHROMIUM_VERSION" >&2 ||
      { $sudo apt-get -o DPkg::Lock::Timeout=600 update >&2 &&
        $sudo apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
          "chromium=$CHROMIUM_VERSION" >&2; }
  fi
  mkdir -p "$cache"
  # Reinstall only when the pinned lock file changed (or the install is incomplete).
  if ! cmp -s "$here/mermaid/package-lock.json" "$cache/.installed-lock" ||
    [ ! -x "$cache/node_modules/.bin/mmdc" ]; then
    say "installing @mermaid-js/mermaid-cli (npm ci)"
    cp "$here/mermaid/package.json" "$here/mermaid/package-lock.json" "$cache/"
    (cd "$cache" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2)
    cp "$here/mermaid/package-lock.json" "$cache/.installed-lock"
  fi
  # The sandbox needs user namespaces, which containers here do not grant.
  printf '{"executablePath":"/usr/bin/chromium","args":["--no-sandbox","--disable-gpu"]}\n' \
    >"$cache/puppeteer.json"
}

if [ "${1:-}" = "--install" ]; then
  install
  exit 0
fi
[ $# -eq 2 ] || { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
install
in=$1 out=$2
mkdir -p "$out"
# mmdc renders each mermaid block of a Markdown file to OUT_DIR/<name>-<n>.svg; a parse
# error or a diagram over Mermaid's limits (edges, text size) makes it exit non-zero.
"$cache/node_modules/.bin/mmdc" -q -p "$cache/puppeteer.json" -i "$in" -o "$out/$(basename "$in")"
