#!/usr/bin/env bash
# Builds the Python wheel (crates/python, PyO3 + maturin, abi3) in a virtual
# environment, installs it and runs its pytest suite against the CLI binary.
#
#   scripts/python-ci.sh path/to/backstop [VENV]
#
# VENV (default: $CARGO_TARGET_DIR/py-venv, kept between runs) gets
# crates/python/requirements-ci.txt from PyPI (maturin, pytest, pyarrow, polars,
# jsonschema, matplotlib: what each is for is written there). The
# wheel is built with cargo's dev profile into the same target folder as the
# workspace, after `cargo test --workspace --features import`: the python crate
# resolves every shared dependency with the workspace's features (its Cargo.toml
# says how; the workspace enables arrow's `ffi` for it), so it compiles only
# pyo3, arrow-pyarrow and backstop's own crates, and prints how long that took.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$(pwd)/target}"
backstop="$(realpath -m "${1:?usage: python-ci.sh BACKSTOP [VENV]}")"
venv="${2:-$target/py-venv}"

if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade -r crates/python/requirements-ci.txt

wheels="$(mktemp -d)"
trap 'rm -rf "$wheels"' EXIT
echo "== maturin build (crates/python, abi3)"
start=$SECONDS
CARGO_TARGET_DIR="$target" "$venv/bin/maturin" build --profile dev \
    -m crates/python/Cargo.toml --out "$wheels" --interpreter "$venv/bin/python"
echo "maturin build: $((SECONDS - start)) s"
"$venv/bin/python" -m pip install -q --force-reinstall --no-deps "$wheels"/backstop-*.whl

echo "== pytest crates/python/tests"
BACKSTOP_BIN="$backstop" "$venv/bin/python" -m pytest -q crates/python/tests
