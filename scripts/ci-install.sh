#!/usr/bin/env bash
# Installs ahead of time what .ci/run's later steps would otherwise install when
# they reach it, so that downloads and unpacking overlap the compile (which
# leaves the network and the disk idle) instead of adding to it:
#   - Debian's chromium (scripts/browser-check.sh, with its recommended
#     packages) and slurm-wlm + munge (scripts/slurm-e2e.sh, without), as
#     those scripts install them;
#   - pyarrow for the system python3 (scripts/check-conservation.py);
#   - the virtual environment VENV with crates/python/requirements-ci.txt
#     (scripts/python-ci.sh) and crates/python/requirements-ray.txt
#     (scripts/ray-e2e.sh).
#
#   scripts/ci-install.sh VENV DETAILS_LOG
#
# Prints one line a step (what, ok or FAILED, how long); the commands' own output
# goes to DETAILS_LOG, whose last lines are printed after a failure. Every later
# step still installs what is missing itself (and skips, saying so, where it
# cannot), so a failure here costs time, never a result: this script exits 1,
# and .ci/run prints its summary and goes on.
set -uo pipefail
cd "$(dirname "$0")/.."
venv="${1:?usage: scripts/ci-install.sh VENV DETAILS_LOG}"
details="${2:?usage: scripts/ci-install.sh VENV DETAILS_LOG}"
: >"$details"

failed=0
step() { # COMMAND...: run it, say how long it took, remember a failure
    local start=$SECONDS
    echo "== $*" >>"$details"
    if "$@" >>"$details" 2>&1; then
        echo "$*: ok, $((SECONDS - start)) s"
    else
        echo "$*: FAILED, $((SECONDS - start)) s; the end of $details:"
        tail -n 5 "$details" | sed 's/^/    /'
        failed=1
    fi
}

if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    need_chromium=0
    need_slurm=0
    command -v chromium >/dev/null || command -v chromium-browser >/dev/null || need_chromium=1
    { command -v slurmctld >/dev/null && command -v munged >/dev/null; } || need_slurm=1
    # A fresh machine may be running apt itself (unattended upgrades at boot):
    # wait for its lock rather than fail.
    lock=(-o DPkg::Lock::Timeout=300)
    if ((need_chromium || need_slurm)); then
        step apt-get "${lock[@]}" update -q
    fi
    ((need_chromium)) && step apt-get "${lock[@]}" install -y -q chromium
    ((need_slurm)) && step apt-get "${lock[@]}" install -y -q --no-install-recommends slurm-wlm munge
fi

python3 -c "import pyarrow" 2>/dev/null || step python3 -m pip install --quiet pyarrow

[[ -x "$venv/bin/python" ]] || step python3 -m venv "$venv"
if [[ -x "$venv/bin/python" ]]; then
    step "$venv/bin/python" -m pip install -q --upgrade -r crates/python/requirements-ci.txt
    "$venv/bin/python" -c "import ray" 2>/dev/null ||
        step "$venv/bin/python" -m pip install -q -r crates/python/requirements-ray.txt
fi
exit "$failed"
