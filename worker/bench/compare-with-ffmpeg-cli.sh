#!/bin/sh
# Compares the worker pipeline with the ffmpeg CLI rendering the same clip (same filter graph,
# libx264 preset and CRF, faststart, no audio): wall time, CPU time and peak RSS per run,
# alternating the two so that both see the same machine load.
#
# Usage: sh worker/bench/compare-with-ffmpeg-cli.sh INPUT [RUNS]
# Env:   BIN (default /var/tmp/rising-stars/worker-target/release/rising-stars-worker),
#        OUT (scratch directory, default /var/tmp/rising-stars/bench)
set -eu
INPUT=$1
RUNS=${2:-5}
BIN=${BIN:-/var/tmp/rising-stars/worker-target/release/rising-stars-worker}
OUT=${OUT:-/var/tmp/rising-stars/bench}
LOGO=$(dirname "$0")/../assets/anb-logo.png
TIMES="$OUT/times.txt"
mkdir -p "$OUT"
: > "$TIMES"

# The CLI command comes from the worker itself, so the two cannot drift apart.
CLI=$("$BIN" process "$INPUT" "$OUT/cli.mp4" --logo "$LOGO" --print-ffmpeg-command | sed 's/^ffmpeg /ffmpeg -v error /')
echo "ffmpeg CLI: $CLI"

for run in $(seq "$RUNS"); do
  /usr/bin/time -a -o "$TIMES" -f "pipeline %e %U %S %M" \
    "$BIN" process "$INPUT" "$OUT/pipeline.mp4" --poster "$OUT/pipeline.jpg" > /dev/null 2>&1
  eval "/usr/bin/time -a -o '$TIMES' -f 'cli %e %U %S %M' $CLI"
  echo "run $run done"
done

echo "tool      runs  wall mean  wall min  CPU mean (user+sys)  peak RSS max"
awk '{ n[$1]++; wall[$1] += $2; cpu[$1] += $3 + $4;
       if (!($1 in min) || $2 < min[$1]) min[$1] = $2;
       if ($5 > rss[$1]) rss[$1] = $5 }
     END { for (t in n) printf "%-9s %4d  %8.2fs  %7.2fs  %18.2fs  %9.0f MiB\n",
             t, n[t], wall[t] / n[t], min[t], cpu[t] / n[t], rss[t] / 1024 }' "$TIMES"
for clip in pipeline cli; do
  printf '%s: ' "$clip"
  ffprobe -v error -show_entries format=duration,size:stream=nb_frames,width,height -of csv=p=0 "$OUT/$clip.mp4" | tr '\n' ' '
  echo
done
