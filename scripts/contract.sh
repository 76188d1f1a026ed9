#!/usr/bin/env bash
# The API contract test: Schemathesis (property-based, from PyPI) against the
# real release binary and the OpenAPI document it serves, once with an API
# key and once with a signed-in session (cookie + X-CSRF-Token). Any server
# error, answer that does not match the document, undocumented status or
# content type fails the run.
#
#   scripts/contract.sh                 # builds (or reuses) target/release/onestop
#   ONESTOP_BIN=path/to/onestop scripts/contract.sh
#   CONTRACT_EXAMPLES=50 scripts/contract.sh   # more cases per operation
#
# Starts `onestop serve` on a free port with SQLite in a temporary data
# directory, creates an administrator (with operator, approver and applicant
# roles) and an API key with the command line, submits one application so
# that lists and resources are not empty, runs both passes and stops the
# server. Exits non-zero when either pass fails. Reports go to
# ${CONTRACT_REPORT_DIR:-target/contract}.
set -euo pipefail
cd "$(dirname "$0")/.."

# The pinned version is in scripts/contract-requirements.txt (.ci/run installs it).
SCHEMATHESIS_VERSION="$(sed -n 's/^schemathesis==//p' scripts/contract-requirements.txt)"
EXAMPLES="${CONTRACT_EXAMPLES:-100}"
SEED="${CONTRACT_SEED:-20261201}"
REPORTS="${CONTRACT_REPORT_DIR:-target/contract}"
BIN="${ONESTOP_BIN:-}"

if ! python3 -c "import schemathesis, sys; sys.exit(schemathesis.__version__ != '$SCHEMATHESIS_VERSION')" 2>/dev/null; then
  echo "contract: installing schemathesis $SCHEMATHESIS_VERSION"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
    -r scripts/contract-requirements.txt
fi
if [ -z "$BIN" ]; then
  cargo build --release -q -p onestop
  BIN=target/release/onestop
fi

DATA="$(mktemp -d)"
JAR="$DATA/cookies.txt"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
export ONESTOP_DATA_DIR="$DATA/data"
export ONESTOP_LISTEN="127.0.0.1:$PORT"
unset DATABASE_URL

# Credentials, made with the command line before the server starts.
USERNAME=contract
PASSWORD='Qx7-Onestop-Pass'
NEW_PASSWORD='Qx8-Onestop-Pass'
printf '%s\n' "$PASSWORD" | "$BIN" user create --username "$USERNAME" --name 契约测试 \
  --role admin --role operator:sz-water --role approver:sz-zrzy \
  --role applicant:91421300MA49ABCD17 --password-stdin >/dev/null
KEY="$("$BIN" apikey create --name contract \
  --scopes applications:read,applications:write,workorders:read:sz-water,workorders:write:sz-water,approvals:write:sz-zrzy \
  | tail -n1)"

"$BIN" serve >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DATA/server.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$BASE/readyz" >/dev/null

csrf_of() { sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1; }

# A session: sign in, change the temporary password, read the session's
# CSRF token from a signed-in page.
token="$(curl -fsS -c "$JAR" -b "$JAR" "$BASE/login" | csrf_of)"
curl -fsS -o /dev/null -c "$JAR" -b "$JAR" \
  --data-urlencode "username=$USERNAME" --data-urlencode "password=$PASSWORD" \
  --data-urlencode "csrf_token=$token" "$BASE/login"
token="$(curl -fsS -c "$JAR" -b "$JAR" "$BASE/account/password" | csrf_of)"
curl -fsS -o /dev/null -c "$JAR" -b "$JAR" \
  --data-urlencode "current_password=$PASSWORD" --data-urlencode "new_password=$NEW_PASSWORD" \
  --data-urlencode "new_password_confirm=$NEW_PASSWORD" --data-urlencode "csrf_token=$token" \
  "$BASE/account/password"
CSRF="$(curl -fsS -c "$JAR" -b "$JAR" "$BASE/account" | csrf_of)"
SESSION="$(awk '$6 == "onestop_session" { print $7 }' "$JAR" | tail -n1)"
if [ -z "$SESSION" ] || [ -z "$CSRF" ]; then
  echo "contract: could not sign in" >&2
  exit 1
fi

# Something to find: an application with every service (the document's own
# example), its water order taken to the approval stage, an approval case,
# a reminder. Their ids are offered to Schemathesis for the `{id}` paths.
IDS="$(BASE="$BASE" KEY="$KEY" SESSION="$SESSION" CSRF="$CSRF" python3 - <<'PY'
import datetime, json, os, urllib.request

base, key = os.environ["BASE"], os.environ["KEY"]
session = {"Cookie": "onestop_session=" + os.environ["SESSION"], "X-CSRF-Token": os.environ["CSRF"]}

def call(method, path, body=None, headers=None):
    h = {"Authorization": "Bearer " + key} if headers is None else dict(headers)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=h)
    with urllib.request.urlopen(req) as r:
        return json.load(r)

doc = call("GET", "/api/v1/openapi.json")
app = call("POST", "/api/v1/applications", doc["components"]["schemas"]["ApplicationRequest"]["example"])
water = next(o for o in app["work_orders"] if o["unit"]["code"] == "sz-water")
o = call("POST", f"/api/v1/work-orders/{water['id']}/actions", {"action": "accept", "version": water["version"]})
o = call("POST", f"/api/v1/work-orders/{water['id']}/actions",
         {"action": "record_survey", "version": o["version"], "external_works_m": 800, "route": "交通大道"})
today = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).date()
case = call("POST", f"/api/v1/applications/{app['id']}/approval-case",
            {"works": [water["id"]], "place": "交通大道", "from": str(today), "to": str(today + datetime.timedelta(days=7))})
reminder = call("POST", f"/api/v1/work-orders/{app['work_orders'][1]['id']}/reminders", {"note": "请加快办理"}, session)
ids = [app["id"], water["id"], case["id"]] + [o["id"] for o in app["work_orders"]] + [i["id"] for i in case["items"]]
print(json.dumps(ids + [reminder["id"]]))
PY
)"

# One configuration per pass: the checks (every check of the answers
# against the document, and that requests the document refuses are
# refused), the credentials as the document's security
# schemes (so that Schemathesis knows them, and leaves them out to check
# that they are required), and one exception: a batch of actions answers
# each item that does not match its schema in that item's own result
# (`200`, with the status it alone would have had), not by refusing the
# batch.
config() {
  cat <<TOML
[checks]
enabled = false
not_a_server_error.enabled = true
status_code_conformance.enabled = true
content_type_conformance.enabled = true
response_schema_conformance.enabled = true
response_headers_conformance.enabled = true
negative_data_rejection.enabled = true
missing_required_header.enabled = true
unsupported_method.enabled = true
allow_header_conformance.enabled = true
ignored_auth.enabled = true

[dictionaries.ids]
values = $IDS

[parameters]
"path.id" = { dictionary = "ids", probability = 0.5 }

[[operations]]
include-path = "/api/v1/work-orders/actions"
include-method = "POST"
checks.negative_data_rejection.enabled = false
TOML
  cat
}

run() {
  local name="$1"
  echo "== schemathesis ($name)"
  config >"$DATA/$name.toml"
  python3 -m schemathesis.cli --config-file "$DATA/$name.toml" run "$BASE/api/v1/openapi.json" \
    --max-examples "$EXAMPLES" \
    --seed "$SEED" \
    --workers 2 \
    --phases examples,coverage,fuzzing \
    --suppress-health-check all \
    --request-timeout 10 \
    --report junit,ndjson --report-dir "$REPORTS/$name"
}

status=0
run api-key <<TOML || status=1
[auth.openapi.api_key]
bearer = "$KEY"
TOML
run session <<TOML || status=1
[auth.openapi.session]
api_key = "$SESSION"
[auth.openapi.csrf]
api_key = "$CSRF"
TOML

if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  echo "contract: the server stopped during the run" >&2
  cat "$DATA/server.log" >&2
  status=1
fi
exit "$status"
