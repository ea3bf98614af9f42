# The no-alignment baseline of sit-tiny_repa_digits.py (same budget):
#   tools/dist_train.sh configs/repa/sit-tiny_baseline_digits.py 2
_base_ = ['./_base_/sit_tiny_digits.py']
