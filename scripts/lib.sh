# Shared helpers for scripts/serve and scripts/test. Every ensure_* step checks
# first and does nothing when the tool is already there at the right version,
# so both commands are quick on a machine that has run them before.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$CARGO_BIN:"*) ;; *) export PATH="$CARGO_BIN:$PATH" ;; esac

WASM_TARGET=wasm32-unknown-unknown
DIST="$ROOT/dist"
NODE_DIR="$ROOT/tests"

step() { printf '\n==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Root needs no sudo (CI runs as root); elsewhere use sudo only if present.
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_wasm_target() {
    if rustup target list --installed | grep -qx "$WASM_TARGET"; then
        return
    fi
    step "rustup target add $WASM_TARGET"
    rustup target add "$WASM_TARGET"
}

# wasm-bindgen's CLI refuses to process output of any other library version,
# so the version is whatever Cargo.lock pins, never "latest".
locked_version() {
    awk -v name="$1" '
        $0 == "name = \"" name "\"" { found = 1; next }
        found && /^version = / { gsub(/"/, "", $3); print $3; exit }
    ' "$ROOT/Cargo.lock"
}

ensure_wasm_bindgen() {
    local want have
    want="$(locked_version wasm-bindgen)"
    [ -n "$want" ] || die "wasm-bindgen not found in Cargo.lock"
    have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
    if [ "$have" = "$want" ] && command -v wasm-bindgen-test-runner >/dev/null; then
        return
    fi
    step "cargo install wasm-bindgen-cli $want (found: ${have:-none})"
    # --locked can fail when a crate version pinned in the CLI's own lock file
    # is not in the registry; the unlocked build still produces the same CLI.
    cargo install wasm-bindgen-cli --version "=$want" --locked --force ||
        cargo install wasm-bindgen-cli --version "=$want" --force
}

# A Cargo.lock that lags behind a Cargo.toml change is worth a loud warning,
# but not a failed run: cargo resolves the missing entries and goes on.
check_lockfile() {
    if ! cargo metadata --locked --format-version 1 >/dev/null 2>&1; then
        printf '\nwarning: Cargo.lock is out of date with the manifests; commit the updated Cargo.lock\n\n' >&2
    fi
}

ensure_node_deps() {
    command -v npm >/dev/null || die "npm not found; install Node.js 20+"
    local stamp="$NODE_DIR/node_modules/.oomlab-lock-sha"
    local sha
    sha="$(sha256sum "$NODE_DIR/package-lock.json" | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sha" ]; then
        return
    fi
    step "npm ci (tests/)"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund)
    echo "$sha" >"$stamp"
}

ensure_chromium() {
    if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
        return
    fi
    step "apt-get install chromium chromium-driver"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -q
    as_root apt-get install -y -q --no-install-recommends chromium chromium-driver
}

# Release bundle: cargo -> wasm-bindgen -> wasm-opt, plus the static files.
build_web() {
    step "build wasm bundle into dist/"
    cargo build -p oomlab-web --target "$WASM_TARGET" --profile wasm-release
    local wasm="$ROOT/target/$WASM_TARGET/wasm-release/oomlab_web.wasm"
    rm -rf "$DIST"
    mkdir -p "$DIST/pkg"
    wasm-bindgen "$wasm" --out-dir "$DIST/pkg" --target web \
        --no-typescript --remove-name-section --remove-producers-section
    local out="$DIST/pkg/oomlab_web_bg.wasm"
    # wasm-opt reads the features rustc used from the target_features section.
    # Its inlining makes the module smaller raw but larger gzipped (about
    # 406 KB against 373 KB), and gzipped is what is served; LLVM has already
    # inlined at opt-level z.
    # --converge repeats the passes while they still shrink the module.
    "$NODE_DIR/node_modules/.bin/wasm-opt" "$out" -Oz --converge \
        --always-inline-max-function-size=0 \
        --flexible-inline-max-function-size=0 \
        --one-caller-inline-max-function-size=0 \
        -o "$out.opt"
    mv "$out.opt" "$out"
    cp "$ROOT/index.html" "$DIST/"
    cp -r "$ROOT/crates/web/static/." "$DIST/"
    report_wasm_size
}

report_wasm_size() {
    local out="$DIST/pkg/oomlab_web_bg.wasm" raw gz
    raw="$(stat -c %s "$out")"
    gz="$(gzip -9 -c "$out" | wc -c)"
    printf '    wasm size: %s bytes raw, %s bytes gzipped (%s)\n' "$raw" "$gz" "${out#"$ROOT"/}"
}
