#!/bin/sh
# Regenerates test-pattern.ivf, the VP8 clip the simulated Kit server loops:
# 320x240 (width a multiple of 32, as Kit streams need), 30 fps, 2 s, a key frame
# every 30 frames, no alt-ref frames (each IVF frame is one displayable frame).
# Needs ffmpeg with libvpx (Debian: apt-get install ffmpeg).
set -eu
cd "$(dirname "$0")"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc=size=320x240:rate=30 -t 2 \
  -c:v libvpx -deadline realtime -cpu-used 8 -b:v 200k -g 30 -auto-alt-ref 0 -lag-in-frames 0 \
  test-pattern.ivf
