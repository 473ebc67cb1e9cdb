#!/bin/sh
# Regenerates test-pattern.h264, the H.264 clip the simulated Kit server loops:
# an Annex B elementary stream, 320x240 (width a multiple of 32, as Kit streams
# need), 30 fps, 2 s, constrained baseline level 3.0 (offered as
# profile-level-id=42e01f), a key frame (IDR) every 30 frames, no B frames, one
# slice per frame, and SPS/PPS repeated before every IDR so a receiver can start
# at any key frame. One thread keeps the output the same on every machine.
# Needs ffmpeg with libx264 (Debian: apt-get install ffmpeg).
set -eu
cd "$(dirname "$0")"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc=size=320x240:rate=30 -t 2 \
  -c:v libx264 -profile:v baseline -level 3.0 -pix_fmt yuv420p -preset veryfast -tune zerolatency \
  -threads 1 -g 30 -keyint_min 30 -sc_threshold 0 -bf 0 -b:v 150k -maxrate 200k -bufsize 200k \
  -x264-params repeat-headers=1 -f h264 test-pattern.h264
