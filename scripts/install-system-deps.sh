#!/usr/bin/env bash
# System packages for safe autograding and its tests (Debian/Ubuntu):
#   bubblewrap        the sandbox of every graded notebook (grading/sandbox/launch.py)
#   postgresql        server binaries for the PostgreSQL gradebook tests (tests/test_parallel.py
#                     starts a throwaway cluster with initdb/pg_ctl; no system service is used)
#   chromium          the browser of the student-path tests (tests/test_browser.py drives
#                     JupyterLab in it with Playwright; Playwright's own download is not used)
#   fonts-dejavu-core a font for the text of those tests' screenshots
#   python3-venv      venvs of Debian's python3, as the README's set-up makes them
# Idempotent: does nothing (no apt-get update) when all are already installed.
set -euo pipefail

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
/usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)

if [ "${#missing[@]}" -eq 0 ]; then
    echo "system deps: bubblewrap, postgresql, chromium, fonts-dejavu-core and python3-venv already installed"
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "system deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
