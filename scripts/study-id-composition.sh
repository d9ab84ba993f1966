#!/usr/bin/env bash
# docs/study.md §5: does the make-up of the TwoNN sample decide the teacher's and the student's ID? Measures every
# model of every point of a finished refo sweep on three sets of 2,000 unseen faces: 2,000 identities x 1 photo
# (nearest neighbours are other people, as in a 1% sample of MS1MV2), 400 x 5 and 200 x 10 (the make-up of a
# 2,000-photo sample of the demo's D1). Prints one JSON line per (point, model, set): the model's ID, S''s ID on the
# same set and their paired gap with its 95% interval.
#
#   scripts/study-id-composition.sh runs/study-seeds /tmp/id-composition > id-composition.jsonl
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 <sweep run folder> <work folder>" >&2; exit 2; }
sweep=$1 work=$2
facekd="node $(dirname "$0")/../dist/src/cli/main.js"
for spec in "2000 1" "400 5" "200 10"; do
  read -r identities photos <<<"$spec"
  set_dir=$work/sets/x$photos
  [ -f "$set_dir/train/train.rec" ] ||
    $facekd data synth "$set_dir" --identities "$identities" --images "$photos" --unlabeled-identities 1 \
      --unlabeled-images 1 --pairs 2 --size 48 --seed 1000 >/dev/null
done
for point in "$sweep"/points/*/; do
  name=$(basename "$point")
  for stage in "$point"stages/*/; do
    [ -f "$stage/model.safetensors" ] || continue
    model=$(node -e "const c=require('$stage/config.json');console.log(c.model.name, c.model.options.embeddingSize)")
    read -r architecture size <<<"$model"
    for photos in 1 5 10; do
      out=$work/embeddings/$name/$(basename "$stage").x$photos.npy
      [ -f "$out" ] && continue
      mkdir -p "$(dirname "$out")"
      $facekd embed --model "$architecture" --embedding-size "$size" --weights "$stage/model.safetensors" \
        --data "$work/sets/x$photos/train/train.rec" --out "$out" --workers 1 >/dev/null 2>&1
    done
  done
  for photos in 1 5 10; do
    reference=$work/embeddings/$name/student-labels.x$photos.npy
    for file in "$work"/embeddings/"$name"/*.x$photos.npy; do
      [ "$file" = "$reference" ] && continue
      $facekd id "$file" "$reference" --fraction 1 --json | node -e "
        const r = JSON.parse(require('fs').readFileSync(0, 'utf8'));
        console.log(JSON.stringify({ point: '$name', model: '$(basename "$file" .x$photos.npy)', photosPerIdentity: $photos,
          id: r.models[0].mean, sPrime: r.models[1].mean, gap: r.gap.gap, interval: r.gap.interval }));"
    done
  done
done
