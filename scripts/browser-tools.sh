# Sourced by scripts/ui-check.sh and scripts/gallery-check.sh (not run on
# its own): installs what their headless checks need, never a downloaded
# browser: Debian's chromium if CHROMIUM is missing, and playwright-core
# PLAYWRIGHT_VERSION from npm into TOOLS (git-ignored .run/ui-check/).
# $1 names the caller in its messages.
browser_tools() {
	local who="$1"
	CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
	TOOLS="${UI_CHECK_TOOLS:-$PWD/.run/ui-check}"
	PLAYWRIGHT_VERSION="1.65.1"
	if [ ! -x "$CHROMIUM" ]; then
		echo "$who: installing Debian's chromium"
		local SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
		$SUDO apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
	fi
	if [ ! -f "$TOOLS/node_modules/playwright-core/package.json" ] ||
		[ "$(node -p "require('$TOOLS/node_modules/playwright-core/package.json').version")" != "$PLAYWRIGHT_VERSION" ]; then
		echo "$who: installing playwright-core $PLAYWRIGHT_VERSION into $TOOLS"
		mkdir -p "$TOOLS"
		[ -f "$TOOLS/package.json" ] || echo '{"private": true}' >"$TOOLS/package.json"
		npm install --prefix "$TOOLS" --no-audit --no-fund --silent "playwright-core@$PLAYWRIGHT_VERSION"
	fi
}
