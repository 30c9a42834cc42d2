# Shared by the r1 serve tests and bench (sourced, not run): a tiny model folder, and a server
# started on a free port and stopped by its process id.
#   serve_make_model DIR MAX_POS [CONFIG [VOCAB]]  DIR/m: a 320-token BPE tokenizer trained by r1
#                                  on 4000 words of a 16-word vocabulary, and `r1 init --seed 5` of
#                                  CONFIG (default: the c_yarn_mtp fixture) with vocab_size VOCAB
#                                  (default 320; "keep": CONFIG's) and max_position_embeddings MAX_POS
#   serve_need_node NAME PACKAGE   prints "SKIP NAME: ..." and exits 0 when node or
#                                  build/node/node_modules/PACKAGE is missing
#   serve_setup NAME MAX_POS       $work: a temporary folder removed on exit (with the server
#                                  killed), and the model in it; exits with a FAIL line if it fails
#   serve_start LOG ARGS...        starts `r1 serve --port 0 ARGS...`, waits for its "listening"
#                                  line (20 s at most); sets SERVE_PID and SERVE_URL
#   serve_stop                     SIGTERM to SERVE_PID, waits (15 s at most); returns its status
R1=${R1:-build/r1}

serve_make_model() {
  local dir=$1 max_pos=$2 config=${3:-tests/fixtures/model/c_yarn_mtp/config.json} vocab=${4:-320}
  mkdir -p "$dir"
  python3 - "$dir/c.txt" <<'PY'
import sys
words = "the water of day number sound people know think answer two plus three is five what".split()
x, out = 1, []
for i in range(4000):
    x = (x * 1103515245 + 12345) % 2**32
    out.append(words[(x >> 16) % 16] + ("\n" if i % 13 == 12 else " "))
open(sys.argv[1], "w").write("".join(out))
PY
  "$R1" tokenizer train --data "$dir/c.txt" --vocab-size 320 --out "$dir/tok/tokenizer.json" --quiet || return 1
  python3 - "$config" "$dir/cfg.json" "$max_pos" "$vocab" <<'PY' || return 1
import json, sys
c = json.load(open(sys.argv[1]))
c["max_position_embeddings"] = int(sys.argv[3])
if sys.argv[4] != "keep": c["vocab_size"] = int(sys.argv[4])
json.dump(c, open(sys.argv[2], "w"), indent=1)
PY
  "$R1" init --config "$dir/cfg.json" --seed 5 --out "$dir/m" > /dev/null || return 1
  cp "$dir"/tok/* "$dir/m/"
}

serve_need_node() {
  case ",${R1_TEST_WITHOUT:-}," in *,node,*) echo "SKIP $1: node treated as missing (R1_TEST_WITHOUT)"; exit 0 ;; esac
  if ! command -v node > /dev/null 2>&1 || [ ! -f "build/node/node_modules/$2/package.json" ]; then
    echo "SKIP $1: node or the npm package $2 missing (tools/fetch_serve_clients.sh)"
    exit 0
  fi
}

serve_setup() {
  work=$(mktemp -d "/tmp/r1_$1_XXXXXX")
  SERVE_PID=""
  trap '[ -n "$SERVE_PID" ] && kill -KILL $SERVE_PID 2>/dev/null; rm -rf "$work"' EXIT
  serve_make_model "$work" "$2" > "$work/make.log" 2>&1 || { echo "FAIL $1_model"; tail "$work/make.log"; exit 1; }
}

serve_start() {
  local log=$1; shift
  "$R1" serve --port 0 "$@" > "$log" 2>&1 &
  SERVE_PID=$!
  SERVE_URL=""
  for _ in $(seq 200); do
    SERVE_URL=$(grep -o 'listening on http://[^ ]*' "$log" | head -1 | sed 's/listening on //; s|/$||')
    [ -n "$SERVE_URL" ] && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "r1 serve did not start:"; tail -5 "$log"
  kill "$SERVE_PID" 2>/dev/null
  return 1
}

serve_stop() {
  local rc
  kill -TERM "$SERVE_PID" 2>/dev/null
  for _ in $(seq 150); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$SERVE_PID" 2>/dev/null; then kill -KILL "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null; return 124; fi
  wait "$SERVE_PID"; rc=$?
  return $rc
}
