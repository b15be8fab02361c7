# Sourced by .ci/tidy, .ci/release-check and .ci/check-layout: a local
# release of this checkout. After `local_proxy`:
#   $LOCAL_TMP      a scratch directory, removed at exit (with its module cache)
#   $LOCAL_PROXY    a file-based module proxy (GOPROXY protocol) holding every
#                   module of go.work at $LOCAL_VERSION, built by .ci/publish
#                   (golang.org/x/mod/zip) from the files git would commit
#   $LOCAL_VERSION  "v" + yespo.Version
#   publish ...     runs the publish tool (-repo is the checkout)
# and the go command behaves as for a user outside the repository, with
# our modules fetched from $LOCAL_PROXY as if they had been tagged:
#   GOWORK=off, GOFLAGS=-mod=mod, a module cache of its own (a module cache
#   never refetches a version, and the checkout changes under one), builds
#   with -trimpath (so that what was compiled from that cache before, in
#   this script or an earlier run, is found in the build cache again: the
#   cache's directory is in an untrimmed build's cache key), the
#   shared cache's downloads as the next proxy (no network for what was ever
#   fetched), then the configured GOPROXY; no checksum database for our
#   modules only (it has never seen these zips); no toolchain download.
# Everything is exported only in the sourcing script's process.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

local_proxy() {
	LOCAL_TMP=$(mktemp -d)
	trap local_cleanup EXIT
	LOCAL_PROXY=$LOCAL_TMP/proxy
	local shared_cache upstream
	shared_cache=$(go env GOMODCACHE)
	upstream=$(go env GOPROXY)
	(cd "$repo/.ci/publish" && GOWORK=off GOFLAGS=-mod=readonly go build -o "$LOCAL_TMP/publish" .)
	LOCAL_VERSION=$(publish version)
	publish -out "$LOCAL_PROXY"

	export GOWORK=off GOTOOLCHAIN=local
	export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod -trimpath"
	export GOMODCACHE=$LOCAL_TMP/modcache
	export GOPROXY="file://$LOCAL_PROXY,file://$shared_cache/cache/download,$upstream"
	export GONOSUMDB="github.com/yespo-go${GONOSUMDB:+,$GONOSUMDB}"
	export GONOPROXY= GOPRIVATE= # or our modules would skip the local proxy
}

# local_cleanup removes $LOCAL_TMP; a script that sets its own EXIT trap
# calls it there.
local_cleanup() {
	chmod -R u+w "$LOCAL_TMP" 2>/dev/null || :
	rm -rf "$LOCAL_TMP"
}

publish() { "$LOCAL_TMP/publish" -repo "$repo" "$@"; }
