#!/usr/bin/env bash
# Installs the Debian packages r1.c needs that are missing. `tools/deps.sh` for building and
# testing; `tools/deps.sh --reference` also brings the references `make bench` and the live
# fixture checks compare against (PyTorch, Node.js); `tools/deps.sh --node` only Node.js;
# `tools/deps.sh --chromium` only Chromium (tests/report_render.sh, make report-screenshot).
set -eu
pkgs=(gcc make libopenblas-openmp-dev libcjson-dev libpcre2-dev libutf8proc-dev libmicrohttpd-dev libopenmpi-dev openmpi-bin clang libclang-rt-14-dev)
if [ "${1:-}" = "--reference" ]; then pkgs+=(python3-torch python3-numpy nodejs npm); fi
# --node: only Node.js (and npm if no npm is on PATH), for the live tokenizer comparisons
if [ "${1:-}" = "--node" ]; then pkgs=(nodejs); command -v npm >/dev/null 2>&1 || pkgs+=(npm); fi
# --chromium: only Debian's headless-capable Chromium, to render the pipeline report
if [ "${1:-}" = "--chromium" ]; then pkgs=(chromium); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "r1.c: installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "r1: error: not root; install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q "${missing[@]}"; then
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
fi
