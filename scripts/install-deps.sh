#!/usr/bin/env bash
# Installs what Aerie needs on Debian, idempotently: system packages (apt) and a Python venv under the repo.
# Usage: scripts/install-deps.sh [run|test|bench|load|s3]   (each level includes the ones before it; load: test + the load-report tools;
#        s3: test + the S3 conformance suite and the servers it compares, for make test-s3)
# Python packages: scripts/requirements-<level>.txt into .venv (run: what builds the models' ONNX graphs).
set -euo pipefail
level="${1:-run}"
cd "$(dirname "$0")/.."

# libdlib-dev: the face engine (AerieFaces); dlib's headers call BLAS and LAPACK, which libopenblas-dev provides
# (as libblas.so and liblapack.so). util-linux: setpriv and prlimit start deployed functions' processes (issue 18).
# wordnet-base: WordNet 3.0, which Imagine's prompt matcher asks about the words two prompts do not share (issue 12).
packages=(libsqlite3-dev libopenblas-dev libdlib-dev zlib1g-dev libjpeg62-turbo-dev libpng-dev libwebp-dev libexif-dev curl jq python3-venv ca-certificates util-linux wordnet-base)
case "$level" in
  # openssl, s3cmd: the S3 tests (self-signed certificate, a second client); gcc: the runtimes test compiles a C bootstrap;
  # postgresql: the server binaries (initdb, pg_ctl) the PostgreSQL driver tests start a scratch server with;
  # nginx-light: the load balancer of the multi-node tests and of make run-cluster
  test) packages+=(chromium chromium-driver procps openssl s3cmd gcc postgresql nginx-light) ;;
  bench) packages+=(chromium chromium-driver procps wrk rabbitmq-server gcc postgresql nginx-light) ;;
  # load: the split deployment of make loadtest-faces runs on PostgreSQL behind nginx
  load) packages+=(chromium chromium-driver procps postgresql nginx-light) ;;
esac

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "==> installing Debian packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    echo "==> swift is at /opt/swift/usr/bin; add it to PATH" >&2
  else
    echo "error: Swift 6.1 or newer is required (https://www.swift.org/install/linux/). Install it and run make again." >&2
    exit 1
  fi
fi

# Every level has the venv: `make run` uses it to build the ONNX graphs of the models the apps load.
if true; then
  requirements="scripts/requirements-$level.txt"
  stamp=".venv/.installed-$level"
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating Python venv in .venv"
    python3 -m venv .venv
  fi
  if [ ! -f "$stamp" ] || [ "$requirements" -nt "$stamp" ]; then
    echo "==> installing Python packages from $requirements"
    .venv/bin/pip install -q --disable-pip-version-check -r "$requirements"
    touch "$stamp"
  fi
fi
