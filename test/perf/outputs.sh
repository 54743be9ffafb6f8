#!/usr/bin/env bash
# Byte-for-byte reference outputs of a build (simulator, apache_combined_3k, telemetry, demo): usage
#   test/perf/outputs.sh CHECKOUT OUT   (CHECKOUT built: its dist/ is run; LOGFOREST_DATA or /work/shared/data)
# then test/perf/outputs-compare.sh OUT_BEFORE OUT_AFTER.
set -euo pipefail
REPO=$1; OUT=$2
mkdir -p "$OUT"; cd "$OUT"; rm -f *
LF="node $REPO/dist/bin/logforest.js"
D=${LOGFOREST_DATA:-/work/shared/data}/logs
# simulator, json and combined
for fmt in json combined; do
  $LF simulate --count 30000 --seed 7 --incidents none --format $fmt --out train-$fmt.log >/dev/null
  $LF simulate --count 20000 --seed 8 --format $fmt --out test-$fmt.log --truth truth-$fmt.jsonl --start 2026-11-24T09:00:00Z >/dev/null
  $LF train --input train-$fmt.log --model $fmt.model --json > train-$fmt.out 2>&1
  $LF detect --model $fmt.model --input test-$fmt.log --scores scores-$fmt.csv --alerts alerts-$fmt.jsonl --json > detect-$fmt.out 2>&1
  $LF detect --model $fmt.model --input test-$fmt.log --workers 1 --json > detect-w-$fmt.out 2>&1
  $LF detect --model $fmt.model --input test-$fmt.log --retrain --retrain-every 3000 --retrain-save retrained-$fmt.model --json > detect-r-$fmt.out 2>&1
  cat test-$fmt.log | $LF detect --model $fmt.model --json > detect-stdin-$fmt.out 2>&1
done
# real apache log
head -2000 $D/apache_combined_3k.log > ap-train.log; tail -n +2001 $D/apache_combined_3k.log > ap-test.log
$LF train --input ap-train.log --model ap.model --json > train-ap.out 2>&1
$LF detect --model ap.model --input ap-test.log --scores scores-ap.csv --json > detect-ap.out 2>&1
# telemetry
$LF simulate --kind telemetry --count 8640 --seed 101 --out tel.csv --truth tel-truth.jsonl >/dev/null
$LF simulate --kind telemetry --count 3000 --seed 5 --incidents none --out tel-train.csv >/dev/null
$LF train --format csv --input tel-train.csv --model tel.model --json > train-tel.out 2>&1
$LF detect --model tel.model --input tel.csv --scores scores-tel.csv --json > detect-tel.out 2>&1
$LF detect --model tel.model --input tel.csv --metric-score raw --json > detect-tel-raw.out 2>&1
# follow: whole file from start, positions
$LF detect --model json.model --follow test-json.log --from-start --duration 4 --positions pos.json --alerts follow-alerts.jsonl --scores follow-scores.csv --json > detect-follow.out 2>&1 || true
# demo
$LF demo --json --rate 20000 > demo.out 2>&1 || true
# normalise timings
for f in *.out; do sed -i -E 's/"seconds":[0-9.e-]+/"seconds":X/g; s/"(lines_per_second|rss_max_mb|elapsed[a-z_]*|rate)":[0-9.e-]+/"\1":X/g; s/[0-9]+(\.[0-9]+)? s\b/X s/g' "$f"; done
sed -i 's#"file":"[^"]*/#"file":"#g' *.out *.jsonl 2>/dev/null || true
md5sum * > ../$(basename $OUT).md5
