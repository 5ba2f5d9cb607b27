#!/usr/bin/env bash
# The Debian package end to end (label `package`): build the .deb with CPack from this build's
# binary, check its fields against packaging/runtime-packages (the container image's list too),
# install it into a fresh directory tree with `dpkg --root`, run the installed binary with the
# shipped settings file, hit /health and the demo page, run the image's HEALTHCHECK command
# against it, verify the systemd unit, and run lintian (no errors allowed).
#   package_test.sh BUILD_DIR SOURCE_DIR VERSION
set -euo pipefail

build_dir=$1
source_dir=$2
version=$3

work=$(mktemp -d /tmp/rt-package-XXXXXX)
chmod 755 "$work" # the server runs as nobody
server_pid=""
cleanup() {
  [[ -n $server_pid ]] && kill -9 "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { echo "--- $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# Package names of a Depends/Recommends field, sorted, one per line.
names() { tr ',' '\n' | sed -e 's/(.*)//' -e 's/|.*//' -e 's/[[:space:]]//g' | grep -v '^$' | sort; }
# A section of packaging/runtime-packages, sorted, one per line.
section() {
  sed -e 's/#.*//' -e 's/[[:space:]]//g' "$source_dir/packaging/runtime-packages" |
    awk -v want="[$1]" '/^\[/ { on = ($0 == want); next } on && NF' | sort
}

step "cpack: the .deb from $build_dir"
(cd "$build_dir" && cpack -B "$work/cpack" >"$work/cpack.log" 2>&1) || {
  cat "$work/cpack.log"
  fail "cpack"
}
deb="$work/cpack/nself-realtime_${version}_amd64.deb"
[[ -f $deb ]] || fail "no $deb: $(ls "$work/cpack")"
echo "$(basename "$deb"): $(du -k "$deb" | cut -f1) KiB"

step "control fields"
[[ $(dpkg-deb -f "$deb" Package) == nself-realtime ]] || fail "Package"
[[ $(dpkg-deb -f "$deb" Version) == "$version" ]] || fail "Version $(dpkg-deb -f "$deb" Version)"
[[ $(dpkg-deb -f "$deb" Architecture) == amd64 ]] || fail "Architecture"
echo "Depends: $(dpkg-deb -f "$deb" Depends)"
# One list of runtime packages: what dpkg-shlibdeps found in the binary is exactly the image's.
diff <(dpkg-deb -f "$deb" Depends | names) <(section libraries) ||
  fail "Depends (left) differs from packaging/runtime-packages [libraries] (right)"
diff <(dpkg-deb -f "$deb" Recommends | names) <(section recommends) ||
  fail "Recommends (left) differs from packaging/runtime-packages [recommends] (right)"
[[ $(dpkg-deb -I "$deb" conffiles) == /etc/nself-realtime/realtime.env ]] || fail "conffiles"
# It holds the key and the JWT secret.
listing=$(dpkg-deb -c "$deb")
grep -q '^-rw------- root/root .* ./etc/nself-realtime/realtime.env$' <<<"$listing" ||
  fail "realtime.env must be root's, mode 0600: $(grep realtime.env <<<"$listing")"

step "the container image's runtime stage installs that same list"
dockerfile="$source_dir/nself/Dockerfile"
grep -qF 'COPY packaging/runtime-packages /tmp/runtime-packages' "$dockerfile" || fail "Dockerfile COPY"
grep -qF "\$(sed -e 's/#.*//' -e '/^\\[/d' /tmp/runtime-packages)" "$dockerfile" ||
  fail "the Dockerfile no longer installs packaging/runtime-packages"
grep -q '^FROM debian:bookworm-slim$' "$dockerfile" || fail "runtime stage base"
for p in $(sed -e 's/#.*//' -e '/^\[/d' "$source_dir/packaging/runtime-packages"); do
  apt-cache show --no-all-versions "$p" >/dev/null 2>&1 || fail "$p is not a Debian 12 package"
done
plugin_port=$(grep -o '"port": *[0-9]*' "$source_dir/nself/plugin.json" | grep -o '[0-9]*$')
grep -q "^EXPOSE $plugin_port\$" "$dockerfile" || fail "EXPOSE is not plugin.json's port $plugin_port"

step "dpkg --root: install into a fresh tree"
root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
touch "$root/var/lib/dpkg/status"
# --force-depends: the tree has no libc of its own; the binary runs on this system's libraries,
# the ones Depends names.
dpkg --root="$root" --force-depends --log=/dev/null -i "$deb" >"$work/dpkg.log" 2>&1 || {
  cat "$work/dpkg.log"
  fail "dpkg -i"
}
grep -q '^Status: install ok installed$' <<<"$(dpkg --root="$root" -s nself-realtime)" || fail "status"
for f in usr/bin/nself-realtime usr/share/nself-realtime/web/index.html \
  usr/share/nself-realtime/web/sdk/index.js etc/nself-realtime/realtime.env \
  lib/systemd/system/nself-realtime.service usr/share/doc/nself-realtime/copyright \
  usr/share/doc/nself-realtime/changelog.gz usr/share/doc/nself-realtime/deployment.md; do
  [[ -e $root/$f ]] || fail "/$f is not installed"
done
[[ -L $root/usr/share/nself-realtime/web/sdk ]] && fail "web/sdk must be files, not the source tree's symlink"
[[ $(file -b "$root/usr/bin/nself-realtime") == *", stripped"* ]] || fail "the binary is not stripped"
[[ $("$root/usr/bin/nself-realtime" --version) == "nself-realtime $version" ]] || fail "--version"

# Runs the installed binary as `nobody` (the image runs as a non-root user, the unit with
# DynamicUser) with the settings of env file $1, in $work/state; leaves its log in $work/server.log.
start_server() {
  mkdir -p "$work/state"
  chmod 777 "$work/state"
  : >"$work/server.log"
  env -i PATH=/usr/bin:/bin bash -c 'set -a; . "$1"; set +a; cd "$2";
      exec setpriv --reuid=nobody --regid=nogroup --clear-groups "$3"' \
    _ "$1" "$work/state" "$root/usr/bin/nself-realtime" >"$work/server.log" 2>&1 &
  server_pid=$!
}

step "the shipped realtime.env alone: refuses to start, naming what is missing"
start_server "$root/etc/nself-realtime/realtime.env"
status=0
wait "$server_pid" || status=$?
server_pid=""
[[ $status == 2 ]] || fail "exit $status, expected 2: $(cat "$work/server.log")"
grep -q 'REALTIME_CORS_ORIGIN is required' "$work/server.log" || fail "$(cat "$work/server.log")"

step "realtime.env with the three required settings filled in (and a free port, a test DB)"
env_file="$work/realtime.env"
sed -e 's|^#REALTIME_CORS_ORIGIN=.*|REALTIME_CORS_ORIGIN=https://chat.example|' \
  -e 's|^#REALTIME_API_KEY=.*|REALTIME_API_KEY=package-test-key-0123456789abcdef0123|' \
  -e "s|^#HASURA_GRAPHQL_JWT_SECRET=.*|HASURA_GRAPHQL_JWT_SECRET='{\"type\":\"HS256\",\"key\":\"package-test-secret-0123456789abcdef\"}'|" \
  -e 's|^#REALTIME_HOST=.*|REALTIME_HOST=127.0.0.1|' \
  -e 's|^#REALTIME_PORT=.*|REALTIME_PORT=0|' \
  -e "s|^DATABASE_URL=sqlite:/var/lib/nself-realtime/|DATABASE_URL=sqlite:$work/state/|" \
  "$root/etc/nself-realtime/realtime.env" >"$env_file"
[[ $(grep -c '^[A-Z_]*=' "$env_file") == 6 ]] || fail "expected 6 settings in $(cat "$env_file")"
start_server "$env_file"
port=""
for _ in $(seq 1 300); do
  port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/server.log" | grep -o '[0-9]*$' || true)
  [[ -n $port ]] && break
  kill -0 "$server_pid" 2>/dev/null || fail "the server exited: $(cat "$work/server.log")"
  sleep 0.1
done
[[ -n $port ]] || fail "no listening line: $(cat "$work/server.log")"
echo "listening on $port"

health=$(curl -fsS "http://127.0.0.1:$port/health") || fail "GET /health"
echo "$health"
for want in '"status":"ok"' '"service":"realtime"' "\"version\":\"$version\"" \
  '"database":"ok"' '"database_kind":"sqlite"' '"migrations":{"applied":1,"expected":1}'; do
  [[ $health == *"$want"* ]] || fail "/health lacks $want; the server said: $(cat "$work/server.log")"
done
[[ -f $work/state/realtime.db ]] || fail "no SQLite file where DATABASE_URL says"
# The installed binary serves the installed demo page and SDK (found next to itself).
curl -fsS "http://127.0.0.1:$port/" | cmp -s - "$source_dir/web/index.html" || fail "GET /"
curl -fsS "http://127.0.0.1:$port/sdk/index.js" | cmp -s - "$source_dir/clients/js/src/index.js" ||
  fail "GET /sdk/index.js"
# Production mode from the file: publishing needs the key.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/realtime/publish" \
  -d '{"topic":"t","event":"e","data":1}')
[[ $code == 401 ]] || fail "publish without the key: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/realtime/publish" \
  -H 'X-Plugin-Secret: package-test-key-0123456789abcdef0123' -d '{"topic":"t","event":"e","data":1}')
[[ $code == 202 ]] || fail "publish with the key: $code"

step "the image's HEALTHCHECK command against it"
healthcheck=$(grep -A1 '^HEALTHCHECK' "$dockerfile" | grep -o 'CMD .*' | sed 's/^CMD //')
[[ -n $healthcheck ]] || fail "no HEALTHCHECK CMD in the Dockerfile"
echo "$healthcheck"
env -i PATH=/usr/bin:/bin REALTIME_PORT="$port" sh -c "$healthcheck" || fail "HEALTHCHECK failed"

kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=""
[[ $status == 0 ]] || fail "exit $status after SIGTERM: $(cat "$work/server.log")"
if env -i PATH=/usr/bin:/bin REALTIME_PORT="$port" sh -c "$healthcheck"; then
  fail "HEALTHCHECK passed with the server stopped"
fi

step "systemd-analyze verify"
unit="$root/lib/systemd/system/nself-realtime.service"
grep -q '^Type=notify$' "$unit" || fail "Type=notify"
limit=$(sed -n 's/^LimitNOFILE=//p' "$unit")
# Enough descriptors for the largest REALTIME_MAX_CONNECTIONS the server accepts.
max=1000000
"$root/usr/bin/nself-realtime" --dev --max-connections "$max" --check-config >/dev/null ||
  fail "--max-connections $max refused"
if "$root/usr/bin/nself-realtime" --dev --max-connections $((max + 1)) --check-config >/dev/null 2>&1; then
  fail "the range of REALTIME_MAX_CONNECTIONS grew past $max: raise LimitNOFILE"
fi
((limit > max)) || fail "LimitNOFILE=$limit is below REALTIME_MAX_CONNECTIONS' maximum $max"
# Verified in a copy of the installed tree with this system's units added (sysinit.target and
# the rest a start transaction needs); ExecStart must exist there. Any remark fails the test: an
# unknown or malformed key is only a warning to systemd.
vroot="$work/verify"
mkdir -p "$vroot"
cp -a "$root/." "$vroot/"
cp -rn /lib/systemd/system/. "$vroot/lib/systemd/system/"
SYSTEMD_LOG_COLOR=0 systemd-analyze verify --root="$vroot" "$vroot/lib/systemd/system/nself-realtime.service" \
  >"$work/verify.log" 2>&1 || fail "systemd-analyze verify: $(cat "$work/verify.log")"
[[ ! -s $work/verify.log ]] || fail "systemd-analyze verify: $(cat "$work/verify.log")"

step "lintian"
lintian --tag-display-limit 0 "$deb" >"$work/lintian.log" 2>&1 || true
cat "$work/lintian.log"
if grep -q '^E: ' "$work/lintian.log"; then fail "lintian errors"; fi

step "dpkg --root -r keeps the edited settings file, --purge removes it"
echo "# edited" >>"$root/etc/nself-realtime/realtime.env"
dpkg --root="$root" --force-depends --log=/dev/null -r nself-realtime >/dev/null 2>&1 || fail "dpkg -r"
[[ ! -e $root/usr/bin/nself-realtime ]] || fail "the binary survived removal"
[[ -f $root/etc/nself-realtime/realtime.env ]] || fail "removal deleted the conffile"
dpkg --root="$root" --force-depends --log=/dev/null -P nself-realtime >/dev/null 2>&1 || fail "dpkg -P"
[[ ! -e $root/etc/nself-realtime/realtime.env ]] || fail "purge kept the conffile"

echo "PASS"
