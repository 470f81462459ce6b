#!/bin/bash
# One visit of a long SRResNet training on the GPU machine (how weights/srresnet.safetensors
# was trained; see its model card). Copy into .gpu/ beside the binary, gpu-env.sh and the
# prepared data (tools/prepare_photos.py) in .gpu/data/{train,val}, and run it from the
# repository root in each call. Runs live in /root/runs, outside the carried tree, so that
# they survive between calls while the machine is held; each call also sends the chosen run's
# checkpoint back in $OUT, in parts of 15 MiB (the limit on a returned file is 16 MiB), so a
# fresh machine can continue from it: put the parts and log.csv in .gpu/carry/.
#   train_visit.sh sweep SECONDS                  four runs side by side, from scratch
#   train_visit.sh resume SECONDS RUN [ARGS...]   continue RUN (ARGS: --lr-late-from N, --steps N)
source .gpu/gpu-env.sh >/dev/null 2>&1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
B=$PWD/.gpu/srgan-wgpu
R=/root/runs
mkdir -p $R
common="--data .gpu/data/train --val .gpu/data/val --val-every 2000 --checkpoint-every 1000 --steps 400000 --seed 0"
mode=$1; secs=$2; shift 2
case $mode in
sweep)
  for cfg in "lr1e-4 --lr 1e-4" "lr2e-4 --lr 2e-4" "lr4e-4 --lr 4e-4" "lr2e-4_b32 --lr 2e-4 --batch 32"; do
    set -- $cfg; name=$1; shift
    timeout -s KILL $secs $B train srresnet $common "$@" --out $R/$name >$R/$name.err 2>&1 &
  done
  wait
  best=$(for d in $R/*/; do echo "$(awk -F, '$8!="" {v=$8} END {print v+0}' $d/log.csv) $(basename $d)"; done | sort -rn | head -1 | cut -d' ' -f2)
  ;;
resume)
  best=$1; shift
  if [ ! -f $R/$best/checkpoint.safetensors ]; then
    mkdir -p $R/$best && cat .gpu/carry/checkpoint.part* > $R/$best/checkpoint.safetensors && cp .gpu/carry/log.csv $R/$best/
  fi
  timeout -s KILL $secs $B train --resume $R/$best "$@" >$R/$best.err 2>&1
  ;;
esac
for d in $R/*/; do
  n=$(basename $d)
  echo "== $n: $(tail -1 $d/log.csv | cut -d, -f1) steps; validation:"
  awk -F, '$8!="" {printf "%s:%s ", $1, $8} END {print ""}' $d/log.csv
  awk -F, 'NR>1 {s+=$7; n++} END {print "mean step s", s/n}' $d/log.csv
  grep -a -m3 -iE "error|warning" $R/$n.err
done
echo "chosen: $best"
tar -czf $OUT/logs.tgz -C $R $(cd $R && ls -d */log.csv)
split -b 15M $R/$best/checkpoint.safetensors $OUT/checkpoint.part
cp $R/$best/generator.safetensors $OUT/
