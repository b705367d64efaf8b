#!/usr/bin/env bash
# System packages for safe autograding and its tests (Debian/Ubuntu):
#   bubblewrap  the sandbox of every graded notebook (grading/sandbox_launch.py)
#   postgresql  server binaries for the PostgreSQL gradebook tests (tests/test_parallel.py
#               starts a throwaway cluster with initdb/pg_ctl; no system service is used)
# Idempotent: does nothing (no apt-get update) when both are already installed.
set -euo pipefail

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)

if [ "${#missing[@]}" -eq 0 ]; then
    echo "system deps: bubblewrap and postgresql already installed"
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "system deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
