#!/usr/bin/env bash
# r1 serve end to end with the official openai npm client (tests/serve_api.mjs), on a tiny model
# made here with a 4000-token context: the API, its errors and limits on two servers, the request
# log, and SIGTERM during a stream (the stream ends, the server exits 0 within its bound).
# Prints PASS/FAIL lines for tests/run.sh; one SKIP line when node or the package is missing.
set -u
cd "$(dirname "$0")/.."
. tests/serve_common.sh
serve_need_node serve_api openai
serve_setup serve_api 4000
rc=0
export R1_BIN=$R1 R1_MODEL_DIR=$work/m R1_WORK=$work
run_phase() {   # phase log server-args...
  local phase=$1 log=$2; shift 2
  serve_start "$log" --model "$work/m" "$@" || { echo "FAIL serve_api_$phase: no server"; rc=1; return; }
  R1_URL=$SERVE_URL R1_SERVE_PID=$SERVE_PID timeout 300 node tests/serve_api.mjs "$phase" || rc=1
}

R1_KEY=sekret-key run_phase main "$work/main.log" --api-key sekret-key --max-batch 32 --queue 32 --max-body 65536 --threads 2
serve_stop; st=$?
[ $st -eq 0 ] && echo "PASS serve_exit_0" || { echo "FAIL serve_exit_0: status $st"; rc=1; }
if grep -q '^r1 serve: 200 POST /v1/chat/completions [0-9.]* s tokens prompt [0-9]* completion 24 reasoning' "$work/main.log" &&
   grep -q '^r1 serve: 401 GET /v1/models' "$work/main.log" && grep -q '^r1 serve: 413 POST' "$work/main.log"; then
  echo "PASS serve_request_log"
else
  echo "FAIL serve_request_log:"; head -5 "$work/main.log"; rc=1
fi

R1_KEY= run_phase busy "$work/busy.log" --max-batch 1 --queue 1 --threads 2
serve_stop || rc=1
R1_KEY= run_phase limits "$work/limits.log" --max-batch 1 --queue 1 --request-timeout 0.3 --idle-timeout 1 --threads 2
serve_stop || rc=1

R1_KEY= run_phase sigterm "$work/term.log" --shutdown-timeout 1 --threads 2
t0=$(date +%s.%N)
for _ in $(seq 100); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SERVE_PID" 2>/dev/null; then
  echo "FAIL serve_sigterm_exit: still running 10 s after SIGTERM"; rc=1
else
  wait "$SERVE_PID"; st=$?
  [ $st -eq 0 ] && grep -q 'r1 serve: stopped' "$work/term.log" && echo "PASS serve_sigterm_exit" ||
    { echo "FAIL serve_sigterm_exit: status $st"; tail -3 "$work/term.log"; rc=1; }
fi
SERVE_PID=""
exit $rc
