#!/usr/bin/env bash
# Set up a fresh machine for instructors, CI and course developers:
#   the system packages of the autograding sandbox and its tests (bubblewrap, postgresql),
#   then the course packages (nndl, utils, grading) with nbgrader, nbval and pytest.
# Students need only `pip install -r requirements.txt` in the folder of their release.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-system-deps.sh
python -m pip install --quiet -e ".[dev]"
