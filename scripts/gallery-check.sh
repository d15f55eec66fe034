#!/usr/bin/env bash
# Browser check of `starter gallery` pages: writes the fixture galleries
# (TestGalleryFixtures: a running batch, a pipeline, the injection cases,
# a 10,000-item batch, one generation) and opens them in headless
# Chromium. Fails (exit 1) when what a user should see is not shown, when
# any script a prompt or a provider's reply carries runs (with the page's
# CSP, and with it bypassed), or when the 10,000-item page's first
# contentful paint passes 3 s. Prints that page's size and first paint,
# and saves screenshots into docs/screenshots/gallery-*.png.
#
#   scripts/gallery-check.sh
#   GALLERY_CHECK_OUT=/tmp/shots scripts/gallery-check.sh
#   GALLERY_CHECK_E2E=1 scripts/gallery-check.sh   # also the pages of a real
#       batch and pipeline (TestGalleryEndToEnd: dev server, worker, gateway,
#       fake ModelsLab; needs the Temporal CLI, as the e2e tests do)
#
# Needs Debian's chromium (installed if missing) and playwright-core from
# npm, installed into .run/ui-check/ (git-ignored) as scripts/ui-check.sh
# does, never a downloaded browser. No stack: the pages are rendered by
# the starter's own code from fixtures (and, with GALLERY_CHECK_E2E=1,
# by `starter gallery` from runs of a stack the e2e test starts). Not part of scripts/test.sh (it
# needs Chromium); the Go tests of the same pages are.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

OUT="${GALLERY_CHECK_OUT:-$PWD/docs/screenshots}"
FIXTURES="${GALLERY_FIXTURES:-$PWD/.run/gallery-fixtures}"

# shellcheck source=browser-tools.sh
. scripts/browser-tools.sh
browser_tools gallery-check

echo "gallery-check: writing the fixture galleries into $FIXTURES"
rm -rf "$FIXTURES"
mkdir -p "$FIXTURES" "$OUT"
GALLERY_FIXTURES="$FIXTURES" go test ./starter/ -run '^TestGalleryFixtures$' -count=1 >/dev/null

E2E_PAGES=""
if [ "${GALLERY_CHECK_E2E:-0}" = 1 ]; then
	echo "gallery-check: making a batch's and a pipeline's galleries on the real stack (go test ./e2e -run TestGalleryEndToEnd)"
	GALLERY_E2E_OUT="$FIXTURES/e2e" go test ./e2e/ -run '^TestGalleryEndToEnd$' -count=1 >/dev/null
	E2E_PAGES="$FIXTURES/e2e/pages"
fi

FIXTURES="$FIXTURES" OUT="$OUT" CHROMIUM="$CHROMIUM" MEASURE_OUT="$FIXTURES/measure.json" E2E_PAGES="$E2E_PAGES" \
	NODE_PATH="$TOOLS/node_modules" node scripts/gallery-check.cjs
