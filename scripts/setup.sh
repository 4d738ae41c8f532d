#!/usr/bin/env bash
# Installs what Wharf needs on a Debian 12 machine, idempotently: Debian packages when missing,
# npm packages when the lock changed, a fresh build when the sources changed, and a running
# Docker Engine. `--for-tests` adds what only the test suite needs, `--for-bench` what only the
# benchmarks need (the registry benchmarks' client and reference registry, the load balancer's load generator).
set -euo pipefail
cd "$(dirname "$0")/.."

for_tests=0
for_bench=0
[[ "${1:-}" == "--for-tests" ]] && for_tests=1
[[ "${1:-}" == "--for-bench" ]] && for_bench=1

need=()
command -v dockerd >/dev/null || need+=(docker.io)
# No grep -q: it exits at the first match, busybox then dies of SIGPIPE, and pipefail would call
# the check failed (and reinstall the package on every run).
[[ -x /usr/bin/busybox ]] && /usr/bin/busybox --list 2>/dev/null | grep -x httpd >/dev/null || need+=(busybox-static)
command -v ip >/dev/null || need+=(iproute2)
# nsenter and umount: the several-instances harness (src/testkit/instance-hosts.ts).
command -v nsenter >/dev/null && command -v umount >/dev/null || need+=(util-linux mount)
command -v tar >/dev/null || need+=(tar)
# A C compiler for the registry's blob-transfer addon (native/blob-transfer.c).
command -v cc >/dev/null && [[ -f /usr/include/stdio.h ]] || need+=(gcc libc6-dev)
# The load balancers' data plane (src/lb).
command -v haproxy >/dev/null || need+=(haproxy)
if (( for_tests )); then
  [[ -x /usr/bin/aws ]] || need+=(awscli)
  # The several-instances harness lets its hosts reach each other through the FORWARD chain.
  command -v iptables >/dev/null || need+=(iptables)
  command -v skopeo >/dev/null || need+=(skopeo)
fi
if (( for_bench )); then
  command -v skopeo >/dev/null || need+=(skopeo)
  command -v docker-registry >/dev/null || need+=(docker-registry)
  # The load-balancer benchmark's load generator.
  command -v wrk >/dev/null || need+=(wrk)
fi
if (( ${#need[@]} )); then
  echo "setup: installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# npm: install when node_modules is missing or older than the lock file.
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The registry's blob-transfer addon: a plain C file against Node-API, whose headers come with Node.
addon=native/build/blob-transfer.node
if [[ ! -f $addon || native/blob-transfer.c -nt $addon ]]; then
  echo "setup: building $addon"
  node_headers=$(node -p "require('path').resolve(process.execPath, '../../include/node')")
  [[ -f $node_headers/node_api.h ]] || { echo "setup: Node's headers are not in $node_headers" >&2; exit 1; }
  mkdir -p native/build
  cc -O2 -Wall -Wextra -shared -fPIC -I"$node_headers" -o "$addon.tmp" native/blob-transfer.c -lpthread
  mv "$addon.tmp" "$addon"
fi

# Build when any source is newer than the last build.
stamp=dist/.build-stamp
if [[ ! -f $stamp ]] || [[ -n "$(find src test bench tsconfig.json package.json -newer "$stamp" -print -quit 2>/dev/null)" ]]; then
  echo "setup: building"
  rm -rf dist
  npx tsc -p tsconfig.json
  touch "$stamp"
fi

# Docker Engine: start one when none answers on the default socket.
if ! docker version >/dev/null 2>&1 && [[ -z "${DOCKER_HOST:-}" ]]; then
  echo "setup: starting dockerd"
  mkdir -p /var/log
  nohup dockerd >/var/log/wharf-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker version >/dev/null 2>&1 && break; sleep 1; done
  docker version >/dev/null 2>&1 || { echo "setup: dockerd did not start; see /var/log/wharf-dockerd.log" >&2; exit 1; }
fi
