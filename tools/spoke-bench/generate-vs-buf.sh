#!/usr/bin/env bash
# `spoke generate` against `buf generate`, whole processes, with the same
# local plugin (protoc-gen-es) and template on the googleapis subset of
# testdata/googleapis/modules.txt laid out as one directory. First checks
# that both trees are identical, then alternates the two ROUNDS times and
# prints each run and the median, minimum and maximum of each.
#
#   tools/spoke-bench/generate-vs-buf.sh SPOKE BUF PROTOC_GEN_ES GOOGLEAPIS [ROUNDS]
#
# SPOKE is the spoke binary (build it with `cargo build --release -p
# spoke-cli`), BUF and PROTOC_GEN_ES the tools `cargo xtask test` installs
# under target/spoke-test-tools/npm/node_modules/.bin, GOOGLEAPIS the
# google-proto-files directory beside them. See docs/benchmarks.md.
set -euo pipefail

spoke=$(realpath "$1")
buf=$(realpath "$2")
es=$(realpath "$3")
googleapis=$(realpath "$4")
rounds=${5:-5}
here=$(cd "$(dirname "$0")/../.." && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/proto"
# Every directory the module list names, as one buf module.
grep -v '^#' "$here/testdata/googleapis/modules.txt" | grep '|' | cut -d'|' -f2 | tr ' ' '\n' |
  grep -v '^$' | while read -r dir; do
    mkdir -p "$work/proto/$dir"
    cp "$googleapis/$dir"/*.proto "$work/proto/$dir/"
  done
printf 'version: v2\n' > "$work/proto/buf.yaml"
printf 'version: v2\nplugins:\n  - local: %s\n    out: gen\n    opt: target=ts\n' "$es" > "$work/buf.gen.yaml"
files=$(find "$work/proto" -name '*.proto' | wc -l)

cd "$work"
export BUF_CACHE_DIR="$work/.buf-cache"
run_buf() { rm -rf gen; "$buf" generate proto >/dev/null; }
run_spoke() { rm -rf gen; "$spoke" generate proto >/dev/null; }

run_buf && mv gen gen-buf
run_spoke && mv gen gen-spoke
# The same files must come out; their bytes may differ where a file embeds
# custom options (docs/codegen.md, "Differences from buf").
diff <(cd gen-buf && find . -type f | sort) <(cd gen-spoke && find . -type f | sort) ||
  { echo "the trees hold different files"; exit 1; }
differing=$(diff -rq gen-buf gen-spoke | wc -l || true)
echo "$files .proto files, $(find gen-buf -type f | wc -l) generated files, $differing differing in content"

time_of() { local start end; start=$(date +%s%N); "$@"; end=$(date +%s%N); echo $(((end - start) / 1000000)); }
buf_times=()
spoke_times=()
for round in $(seq "$rounds"); do
  b=$(time_of run_buf)
  s=$(time_of run_spoke)
  buf_times+=("$b")
  spoke_times+=("$s")
  echo "round $round: buf ${b} ms, spoke ${s} ms"
done
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "median %d ms (min %d, max %d)", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2), a[1], a[NR]}'; }
echo "buf generate:   $(stats "${buf_times[@]}")"
echo "spoke generate: $(stats "${spoke_times[@]}")"
