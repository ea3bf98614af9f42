import json
import os.path as osp

import pytest

from rgl.models.rewards import (CompositionPrompts, CountingPrompts,
                                PromptSet, load_prompt_set, pluralize,
                                reproduction_rate, singularize)
from rgl.registry import TASK_UTILS
from rgl.utils.errors import DataError

DATA = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), 'data',
                'tia2')


def test_counting_rules_reproduce_tia2():
    released = load_prompt_set(osp.join(DATA, 'prompt_set_counting.json'))
    gen = TASK_UTILS.build(dict(type='CountingPrompts'))
    for prompt, others in released.items():
        assert gen(prompt) == others, prompt
    assert gen('a realistic photo of an airplane') == [
        'a realistic photo of two airplanes',
        'a realistic photo of three airplanes']
    assert gen('two cats.') == ['a cat.', 'three cats.', 'four cats.']
    assert reproduction_rate(gen, released)['fraction'] == 1.0


def test_composition_rules_reproduce_tia2_rule_part():
    released = load_prompt_set(osp.join(DATA,
                                        'prompt_set_composition.json'))
    gen = CompositionPrompts()
    for prompt, others in released.items():
        # the first 12 are rule-based, the rest written by an LLM
        assert gen(prompt) == others[:12], prompt
    rate = reproduction_rate(gen, released, prefix_count=12)
    assert rate['fraction'] == 1.0 and rate['exact_prompts'] == len(released)
    plain = CompositionPrompts(tia2_joiners=False, hybrids=False)
    out = plain('an apple and two cats')
    assert 'two apples and three cats' in out and len(out) == 2 + 8
    assert 'an apple and two cats' not in out


def test_inflection_round_trip():
    for noun in ('airplane', 'teddy bear', 'deer', 'bus', 'horse', 'box',
                 'cherry', 'wolf', 'vase', 'glass'):
        assert singularize(pluralize(noun)) == noun


def test_prompt_sets(tmp_path):
    path = tmp_path / 'set.json'
    path.write_text(json.dumps({'a dog': ['a cat', 'a fox']}))
    ps = PromptSet(str(path), fallback=dict(type='CountingPrompts'))
    assert ps('a dog') == ['a cat', 'a fox']
    assert ps('an owl') == ['two owls', 'three owls']
    with pytest.raises(DataError, match='no contrastive prompts'):
        PromptSet(str(path))('a horse')
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps({'a dog': 'a cat'}))
    with pytest.raises(DataError, match='bad.json'):
        load_prompt_set(str(bad))
    with pytest.raises(DataError, match='not found'):
        load_prompt_set(str(tmp_path / 'missing.json'))
    with pytest.raises(DataError, match='no "<count> <object>"'):
        CountingPrompts()('sunset over the sea')
