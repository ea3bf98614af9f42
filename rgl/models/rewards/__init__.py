"""Reward models, contrastive prompts and TextNorm calibration."""
from .base import BaseRewardModel, DualEncoderReward, to_model_pixels
from .calibration import (TextNormReward, calibrate, check_temperature,
                          ensemble)
from .clip_score import CLIPScore
from .contrastive import (CompositionPrompts, CountingPrompts, PromptSet,
                          load_prompt_set, pluralize, reproduction_rate,
                          singularize)
from .hf_rewards import BLIP2Score, PickScore
from .image_reward import ImageRewardScore

__all__ = [
    'BaseRewardModel', 'DualEncoderReward', 'to_model_pixels',
    'TextNormReward', 'calibrate', 'check_temperature', 'ensemble',
    'CLIPScore', 'CompositionPrompts', 'CountingPrompts', 'PromptSet',
    'load_prompt_set', 'pluralize', 'reproduction_rate', 'singularize',
    'BLIP2Score', 'PickScore', 'ImageRewardScore'
]
