#!/usr/bin/env bash
# Ingest the same generated file through two commits of OMS, each on a fresh local stack,
# one right after the other on this machine:
#
#   benchmarks/compare_commits.sh BEFORE_COMMIT AFTER_COMMIT [ROWS] [RUNS]
#
# Each commit is checked out in a git worktree under /tmp, its stack starts from nothing
# (rm -rf .stack), and `benchmarks/bench.py --rows ROWS` runs RUNS times. The checkout's
# own stack must be stopped first (`make stop`): both use the same ports. Issue 8 compared
# 5eb6c1e (FerretDB on SQLite) with 862f30a (FerretDB on PostgreSQL) this way.
set -euo pipefail
before=$1 after=$2 rows=${3:-100000} runs=${4:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
py="$repo/.venv/bin/python"
for commit in "$before" "$after"; do
  tree="/tmp/oms-compare-$commit"
  git -C "$repo" worktree add -f "$tree" "$commit" >/dev/null 2>&1
  (
    cd "$tree"
    export PYTHONPATH="$tree"
    rm -rf .stack
    "$py" -m devstack.cli up --all >"/tmp/oms-compare-$commit-up.log" 2>&1
    for run in $(seq "$runs"); do
      echo "== $commit run $run"
      "$py" benchmarks/bench.py --rows "$rows" 2>&1 | grep -E "^(status|wall|chunk time)"
    done
    "$py" -m devstack.cli down >/dev/null 2>&1
  )
  git -C "$repo" worktree remove --force "$tree"
done
