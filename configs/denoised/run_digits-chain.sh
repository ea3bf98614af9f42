#!/usr/bin/env bash
# The denoised-smoothing chain on the bundled digits, CPU-sized (minutes):
# a tiny rgl DDPM denoiser, a clean classifier certified through it (DDS)
# at σ = 0.25 / 0.5 / 1.0, the MDDS cascade 1.0 → 0.5 → 0.25, FT-CADIS
# fine-tuning at σ = 0.5 and its certification, the MDDS diffusion
# fine-tuning (300 iterations) with DDS and the cascade through the
# fine-tuned denoiser, then one table.
# 50 test images (every 6th of the first 300), N0 = 100, N = 500 per
# stage, α = 0.001, seed 0.   Usage: bash configs/denoised/run_digits-chain.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
W=${W:-work_dirs/digits_chain}
mkdir -p "$W"
DEN=work_dirs/dds_denoiser_ddpm-dit-tiny_digits/iter_1500.pth
CLF=work_dirs/dds_smallconvnet_digits-sigma0.5/epoch_20.pth
FT=work_dirs/ftcadis_smallconvnet_digits-chain-sigma0.5/epoch_5.pth
FTDEN=work_dirs/dds_mdds-finetune_ddpm-dit-tiny_digits/iter_300.pth
SUBSET=(--skip 6 --max 300 --n0 100 --n 500)

# 1. the denoiser and 2. the clean classifier (the DDS recipes)
[ -f $DEN ] || python tools/train.py configs/denoised/dds_denoiser_ddpm-dit-tiny_digits.py
[ -f $CLF ] || python tools/train.py configs/denoised/dds_smallconvnet_digits-sigma0.5.py
# 3. DDS: one σ at a time
for s in 0.25 0.5 1.0; do
  python tools/certify.py configs/denoised/dds_smallconvnet_digits-sigma0.5.py \
    $CLF --sigma $s "${SUBSET[@]}" --out $W/dds_sigma$s.tsv
done
# 4. MDDS: the cascade over the same denoised classifier
python tools/certify_cascade.py configs/denoised/mdds_smallconvnet_digits-chain.py \
  $CLF "${SUBSET[@]}" --out $W/mdds.tsv
# 4b. the cascade without σ = 1.0 (the tiny denoiser collapses there)
python tools/certify_cascade.py configs/denoised/mdds_smallconvnet_digits-chain.py \
  $CLF --sigmas 0.5 0.25 "${SUBSET[@]}" --out $W/mdds_0.5-0.25.tsv
# 5. FT-CADIS: fine-tune the clean classifier at σ = 0.5, certify again
[ -f $FT ] || python tools/train.py configs/denoised/ftcadis_smallconvnet_digits-chain-sigma0.5.py
python tools/certify.py configs/denoised/ftcadis_smallconvnet_digits-chain-sigma0.5.py \
  $FT "${SUBSET[@]}" --out $W/ftcadis_sigma0.5.tsv
# 6. MDDS diffusion fine-tuning of the denoiser against the clean
# classifier (300 iterations), then DDS and the cascade through it
[ -f $FTDEN ] || python tools/train.py configs/denoised/dds_mdds-finetune_ddpm-dit-tiny_digits.py
python tools/certify_cascade.py configs/denoised/mdds_mdds-finetuned_smallconvnet_digits-chain.py \
  $CLF "${SUBSET[@]}" --out $W/mdds_ft.tsv
python tools/certify_cascade.py configs/denoised/mdds_mdds-finetuned_smallconvnet_digits-chain.py \
  $CLF --sigmas 0.5 0.25 "${SUBSET[@]}" --out $W/mdds_ft_0.5-0.25.tsv
for s in 0.25 0.5 1.0; do
  python tools/certify.py configs/denoised/dds_mdds-finetuned_smallconvnet_digits-sigma0.5.py \
    $CLF --sigma $s "${SUBSET[@]}" --out $W/dds_ft_sigma$s.tsv
done
# 7. the table (analyze_certify reads the cascade's TSV by column name)
python tools/analyze_certify.py $W/dds_sigma0.25.tsv $W/dds_sigma0.5.tsv \
  $W/dds_sigma1.0.tsv $W/mdds.tsv $W/mdds_0.5-0.25.tsv \
  $W/ftcadis_sigma0.5.tsv $W/dds_ft_sigma0.25.tsv $W/dds_ft_sigma0.5.tsv \
  $W/dds_ft_sigma1.0.tsv $W/mdds_ft.tsv $W/mdds_ft_0.5-0.25.tsv \
  --names "DDS σ=0.25" "DDS σ=0.5" "DDS σ=1.0" \
  "MDDS 1.0→0.5→0.25" "MDDS 0.5→0.25" "FT-CADIS σ=0.5" \
  "DDS σ=0.25, MDDS-ft denoiser" "DDS σ=0.5, MDDS-ft denoiser" \
  "DDS σ=1.0, MDDS-ft denoiser" "MDDS 1.0→0.5→0.25, MDDS-ft denoiser" \
  "MDDS 0.5→0.25, MDDS-ft denoiser" \
  --radii 0 0.25 0.5 0.75 1.0 1.25 1.5 2.0 \
  --markdown $W/table.md --json $W/table.json
