#!/usr/bin/env bash
# Installs moto's S3 server (PyPI `moto[server]`) for the object store tests,
# in a Python virtual environment of its own (Debian's Python is externally
# managed), and prints where `moto_server` is. Idempotent and quiet; the
# install needs root (apt-get for python3-venv when it is missing).
#   export ONESTOP_MOTO="$(scripts/moto.sh)"
set -euo pipefail
venv="${ONESTOP_MOTO_VENV:-/opt/onestop-moto}"
moto="$venv/bin/moto_server"
if [ -x "$moto" ] && "$venv/bin/python" -c 'import moto.server' >/dev/null 2>&1; then
  echo "$moto"
  exit 0
fi
python=/usr/bin/python3
[ -x "$python" ] || python="$(command -v python3)"
if ! "$python" -m venv --help >/dev/null 2>&1 || ! "$python" -c 'import ensurepip' >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq python3-venv >/dev/null
  else
    echo "moto.sh: python3 -m venv is not available (apt-get install python3-venv)" >&2
    exit 1
  fi
fi
echo "moto.sh: installing moto[server] into $venv" >&2
rm -rf "$venv"
"$python" -m venv "$venv" >&2
"$venv/bin/pip" install -q --disable-pip-version-check 'moto[server]>=5,<6' >&2
"$venv/bin/python" -c 'import moto.server' >&2
echo "$moto"
