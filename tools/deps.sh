#!/usr/bin/env bash
# Installs the Debian packages r1.c needs that are missing (`make run`, `make test` and `make deps`
# call it first). As root it installs them with apt-get; as another user it names them and fails.
#
#   tools/deps.sh              what building and `make test` need
#   tools/deps.sh --reference  that plus the references `make bench` and the live checks compare
#                              against (Debian's PyTorch, numpy, jinja2, Node.js); without them
#                              those tests print SKIP lines
#   tools/deps.sh --node       only Node.js (and npm if none is on PATH): live tokenizer checks
#   tools/deps.sh --jinja2     only Debian's python3 with jinja2: the chat-template check
#   tools/deps.sh --chromium   only Chromium (and python3): tests/report_render.sh, make report-screenshot
set -eu
pkgs=(gcc make libopenblas-openmp-dev libcjson-dev libpcre2-dev libutf8proc-dev libmicrohttpd-dev libopenmpi-dev
      openmpi-bin clang libclang-rt-14-dev libomp-dev)   # libomp-dev: LLVM OpenMP and its Archer tool (fuzz build, make tsan)
# Node.js from Debian unless a node and npm are on PATH already (a Node.js installed otherwise
# conflicts with Debian's nodejs/npm packages)
node_pkgs() {
  command -v node >/dev/null 2>&1 || echo nodejs
  command -v npm >/dev/null 2>&1 || echo npm
}
case "${1:-}" in
  "") ;;
  --reference) pkgs+=(python3-torch python3-numpy python3-jinja2 $(node_pkgs)) ;;
  --node) pkgs=($(node_pkgs)) ;;
  --jinja2) pkgs=(python3 python3-jinja2) ;;
  --chromium) pkgs=(chromium python3) ;;
  *) echo "usage: tools/deps.sh [--reference | --node | --jinja2 | --chromium]" >&2; exit 2 ;;
esac
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "r1.c: not a Debian system; make sure the equivalents of these are installed: ${pkgs[*]}" >&2
  exit 0
fi
missing=()
for p in ${pkgs[@]+"${pkgs[@]}"}; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "r1: error: Debian packages missing: ${missing[*]}; install them as root (make deps), or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "r1.c: installing missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q "${missing[@]}"; then
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
fi
