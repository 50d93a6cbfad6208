#!/usr/bin/env bash
# Regenerates the demo machine-learned model inputs/models/bn_demo_allegro.pt:
#   1. 258 frames of a 3x3 h-BN bilayer (36 atoms) labelled by bn-dft and its registry-dipole
#      Born charges: 108 rigid slides (6x6 sliding vectors x 3 interlayer distances, 0.03 A
#      random displacements) and 150 Langevin MD snapshots at 100, 300, 1000, 2000, 3000 K;
#   2. an Allegro potential trained by nequip-train (r_max 6 A, 2 layers, l_max 1, 120 epochs)
#      and the equivariant Born-charge network (300 epochs), wrapped into one contract file.
# About 75 minutes on 2 CPU cores. (The shipped model was trained 60 epochs and then resumed
# from its last checkpoint to epoch 120 with nequip-train ckpt_path; one 120-epoch run differs
# only in the data-loader order after epoch 60.) Usage: bash validation/make_demo_model.sh [WORKDIR]
set -euo pipefail
work=${1:-demo_model_work}
mkdir -p "$work"
slidesim model dataset "$work/bn_train.xyz" --model bn-dft --cells 3 \
    --temperatures 100,300,1000,2000,3000 --frames 30 --grid 6 --seed 0
slidesim model train "$work/bn_train.xyz" -o "$work/bn_demo_allegro.pt" \
    --workdir "$work/train" --r-max 6.0 --epochs 120 --bec-epochs 300 --seed 0
echo "model in $work/bn_demo_allegro.pt, metrics in $work/train/metrics.json"
echo "to ship it: cp $work/bn_demo_allegro.pt inputs/models/"
