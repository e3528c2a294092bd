#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, runs ctest (unit,
# integration and golden labels). Used by the README and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j"${TEST_JOBS:-2}" "$@"
