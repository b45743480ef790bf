#!/usr/bin/env bash
# Installs the Debian packages the app needs, only when some are missing.
#   scripts/system-deps.sh run    pango + HarfBuzz subsetter + a CJK font (PDFs in Chinese)
#   scripts/system-deps.sh test   the above + chromium (browser tests) + poppler (PDF checks) + PostgreSQL
#                                 + redis-server (the queue's tests on Redis)
set -euo pipefail
want=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk)
if [ "${1:-run}" = "test" ]; then
  want+=(chromium poppler-utils postgresql redis-server)
fi
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing system packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
