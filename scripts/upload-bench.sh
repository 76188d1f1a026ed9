#!/usr/bin/env bash
# Benchmark of the materials' and documents' paths through the real binary
# over HTTP: uploads of 10 MB PDFs (each of distinct content, so each is
# hashed and stored) and the acceptance receipt rendered as a PDF, timed
# one request at a time with curl. Prints p50/p99 and the upload throughput.
#
#   scripts/upload-bench.sh                      # target/release/onestop
#   ONESTOP_BIN=target/debug/onestop scripts/upload-bench.sh
#   UPLOADS=20 RECEIPTS=100 scripts/upload-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${ONESTOP_BIN:-target/release/onestop}"
UPLOADS="${UPLOADS:-10}"
RECEIPTS="${RECEIPTS:-50}"
DATA="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
export ONESTOP_DATA_DIR="$DATA/data" ONESTOP_LISTEN="127.0.0.1:$PORT"
unset DATABASE_URL
KEY="$("$BIN" apikey create --name bench --scopes applications:read,applications:write | tail -n1)"
"$BIN" serve >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
APP="$(curl -fsS -H "Authorization: Bearer $KEY" "$BASE/api/v1/openapi.json" \
  | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["components"]["schemas"]["ApplicationRequest"]["example"]))' \
  | curl -fsS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d @- "$BASE/api/v1/applications" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"

summary() { # label, unit, values (seconds) on stdin
  python3 -c '
import sys
label, size = sys.argv[1], float(sys.argv[2])
t = sorted(float(x) for x in sys.stdin.read().split())
p = lambda q: t[min(len(t) - 1, int(len(t) * q))]
line = f"{label}: n={len(t)} p50 {p(0.5)*1e3:.1f} ms, p99 {p(0.99)*1e3:.1f} ms, max {t[-1]*1e3:.1f} ms"
if size > 0:
    line += f"; throughput at p50 {size / p(0.5) / 1e6:.1f} MB/s"
print(line)' "$1" "$2"
}

for i in $(seq 1 "$UPLOADS"); do
  f="$DATA/plan-$i.pdf"
  { printf '%%PDF-1.4\n%% plan %s\n' "$i"; head -c 10485700 /dev/urandom; } > "$f"
  curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $KEY" \
    -F "file=@$f;type=application/pdf" -F kind=site_plan "$BASE/api/v1/applications/$APP/materials"
  rm -f "$f"
done | awk '$1 != 201 { print "upload answered " $1 > "/dev/stderr"; exit 1 } { print $2 }' \
  | summary "upload of a 10 MB PDF" 10485760

for _ in $(seq 1 "$RECEIPTS"); do
  curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $KEY" \
    "$BASE/api/v1/applications/$APP/documents/receipt.pdf"
done | awk '$1 != 200 { print "receipt answered " $1 > "/dev/stderr"; exit 1 } { print $2 }' \
  | summary "receipt.pdf over HTTP" 0
