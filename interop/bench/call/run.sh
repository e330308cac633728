#!/usr/bin/env bash
# Call-path benchmark (OpenCEC issue 6): SIPp drives a SIP server through the whole call path
# (trunk INVITE -> queue -> agent phones -> renegotiation -> BYE), signalling only and with
# RTP. Target-agnostic: TARGET=<name> picks targets/<name>.sh (default opencec). Method, knobs
# and results: README.md. Not a test; run by hand on an otherwise idle box:
#
#   CARGO_TARGET_DIR=/var/tmp/tgt interop/bench/call/run.sh          # $OUT/results.md
#   interop/bench/call/run.sh selftest     # the scenarios against each other, no server (~20 s)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONDONTWRITEBYTECODE=1
command -v sipp >/dev/null || { echo "run.sh: needs sipp (apt-get install sip-tester)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "run.sh: needs python3" >&2; exit 1; }
if [ "${1:-}" = selftest ]; then
  exec python3 "$here/selftest/selftest.py"
fi
exec python3 "$here/bench.py" "$@"
