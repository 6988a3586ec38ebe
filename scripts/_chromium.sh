#!/usr/bin/env bash
# Called by scripts/test.sh (and so .ci/run): make headless Chromium available for the browser test (tests/test_report_browser.py).
# Installs Debian's `chromium` package when no Chromium is on PATH and we are root with apt-get. Never fails:
# without a browser that test is skipped and says why.
set -u
for browser in "${RAEREID_CHROMIUM:-}" chromium chromium-browser google-chrome google-chrome-stable; do
    if [ -n "$browser" ] && command -v "$browser" >/dev/null 2>&1; then
        exit 0
    fi
done
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "[setup] no Chromium and no root apt-get to install it: the browser test will be skipped"
    exit 0
fi
echo "[setup] installing chromium (Debian package) for the browser test"
log="$(mktemp)"
if timeout 900 apt-get update >"$log" 2>&1 && DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y chromium >>"$log" 2>&1; then
    echo "[setup] $(chromium --version 2>/dev/null)"
else
    tail -n 5 "$log"
    echo "[setup] could not install chromium: the browser test will be skipped"
fi
rm -f "$log"
exit 0
