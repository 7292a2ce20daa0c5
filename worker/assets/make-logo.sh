#!/bin/sh
# Regenerates anb-logo.png (256x256 RGBA): an orange basketball with seam lines and the letters ANB.
# Needs the ffmpeg CLI (Debian 12: ffmpeg 5.1) and the DejaVu fonts (Debian: fonts-dejavu-core).
# Run from anywhere: sh worker/assets/make-logo.sh
set -eu
cd "$(dirname "$0")"
DARK='max(max(lt(abs(X-128),3),lt(abs(Y-128),3)),max(max(lt(abs(hypot(X+60,Y-128)-150),3),lt(abs(hypot(X-316,Y-128)-150),3)),gt(hypot(X-128,Y-128),114)))'
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i 'color=c=black@0:s=256x256:d=1,format=rgba' \
  -vf "geq=r='if($DARK,40,242)':g='if($DARK,22,110)':b='if($DARK,12,34)':a='255*clip(120.5-hypot(X-128,Y-128),0,1)',drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf:text=ANB:fontsize=84:fontcolor=white:borderw=5:bordercolor=0x28160c:x=(w-text_w)/2:y=(h-text_h)/2" \
  -frames:v 1 -update 1 -pix_fmt rgba anb-logo.png
