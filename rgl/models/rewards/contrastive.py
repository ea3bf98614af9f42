"""Contrastive prompt sets ``C(p)`` for TextNorm.

Rule-based generators for counting and two-object composition prompts, and
user-provided sets in the TIA2 ``prompt_set_*.json`` format (a JSON object:
prompt -> list of its contrastive prompts).
"""
import re

from rgl.registry import TASK_UTILS
from rgl.utils.errors import ConfigError, DataError
from rgl.utils.json_io import read_json_object

NUMBERS = ('one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight',
           'nine', 'ten')
_WORD_TO_COUNT = {w: i + 1 for i, w in enumerate(NUMBERS)}
_WORD_TO_COUNT.update(a=1, an=1)
# nouns whose plural is not the regular one (extend with `irregular=`)
IRREGULAR_PLURALS = {
    'deer': 'deer', 'sheep': 'sheep', 'fish': 'fish', 'mouse': 'mice',
    'person': 'people', 'man': 'men', 'woman': 'women', 'child': 'children',
    'goose': 'geese', 'tooth': 'teeth', 'foot': 'feet', 'ox': 'oxen',
    'knife': 'knives', 'leaf': 'leaves', 'wolf': 'wolves', 'shelf':
    'shelves', 'loaf': 'loaves', 'scissors': 'scissors', 'bus': 'buses',
    'cactus': 'cacti', 'potato': 'potatoes', 'tomato': 'tomatoes',
}
_VOWEL_SOUND = re.compile(r'^(?:[aeio]|u(?!ni|se|ku)|hour|honest)', re.I)


def pluralize(noun, irregular=None):
    """English plural of a noun phrase (its last word is inflected)."""
    table = dict(IRREGULAR_PLURALS, **(irregular or {}))
    head, _, last = noun.rpartition(' ')
    if last in table:
        plural = table[last]
    elif re.search(r'[^aeiou]y$', last):
        plural = last[:-1] + 'ies'
    elif re.search(r'(s|x|z|ch|sh)$', last):
        plural = last + 'es'
    else:
        plural = last + 's'
    return f'{head} {plural}' if head else plural


def singularize(noun, irregular=None):
    """Inverse of :func:`pluralize` for the nouns it produces."""
    table = dict(IRREGULAR_PLURALS, **(irregular or {}))
    inverse = {v: k for k, v in table.items()}
    head, _, last = noun.rpartition(' ')
    if last in inverse:
        single = inverse[last]
    elif last.endswith('ies'):
        single = last[:-3] + 'y'
    elif re.search(r'(ss|x|z|ch|sh)es$', last):
        single = last[:-2]
    elif last.endswith('s') and not last.endswith('ss'):
        single = last[:-1]
    else:
        single = last
    return f'{head} {single}' if head else single


def article(noun):
    """``'a'`` or ``'an'`` for a singular noun phrase."""
    return 'an' if _VOWEL_SOUND.match(noun) else 'a'


def counted(noun, count, irregular=None):
    """``'an apple'``, ``'two apples'``, ... from the singular ``noun``."""
    if count == 1:
        return f'{article(noun)} {noun}'
    return f'{NUMBERS[count - 1]} {pluralize(noun, irregular)}'


def _count_positions(words):
    return [i for i, w in enumerate(words) if w.lower() in _WORD_TO_COUNT]


def _split_suffix(prompt):
    prompt = prompt.strip()
    return (prompt[:-1], '.') if prompt.endswith('.') else (prompt, '')


def parse_counted(prompt, irregular=None):
    """``(prefix, count, singular noun, suffix)`` of a counting prompt
    ("a realistic photo of three deer": the last count word and the words
    after it), or ``None``."""
    body, suffix = _split_suffix(prompt)
    words = body.split(' ')
    where = _count_positions(words[:-1])
    if not where:
        return None
    i = where[-1]
    count = _WORD_TO_COUNT[words[i].lower()]
    noun = ' '.join(words[i + 1:])
    if count > 1:
        noun = singularize(noun, irregular)
    prefix = ' '.join(words[:i]) + (' ' if i else '')
    return prefix, count, noun, suffix


@TASK_UTILS.register_module()
class CountingPrompts:
    """Contrastive prompts of a counting prompt: the same object at the
    ``below`` counts under and ``above`` counts over the true count
    (counts >= 1). With the defaults this is the rule of TIA2's counting
    set: "an airplane" -> "two airplanes", "three airplanes"; "three deer"
    -> "a deer", "two deer", "four deer", "five deer".

    Args:
        below (int): how many smaller counts.
        above (int): how many larger counts.
        max_count (int): the largest count written as a word (<= 10).
        irregular (dict, optional): extra singular -> plural nouns.
    """

    def __init__(self, below=2, above=2, max_count=10, irregular=None):
        if not 1 <= max_count <= len(NUMBERS):
            raise ConfigError(f'CountingPrompts.max_count must be in '
                              f'[1, {len(NUMBERS)}]; got {max_count}')
        self.below, self.above = int(below), int(above)
        self.max_count, self.irregular = int(max_count), irregular

    def __call__(self, prompt):
        parsed = parse_counted(prompt, self.irregular)
        if parsed is None:
            raise DataError(f'CountingPrompts: no "<count> <object>" in '
                            f'prompt {prompt!r}')
        prefix, n, noun, suffix = parsed
        counts = [c for c in range(n - self.below, n + self.above + 1)
                  if c != n and 1 <= c <= self.max_count]
        return [f'{prefix}{counted(noun, c, self.irregular)}{suffix}'
                for c in counts]


@TASK_UTILS.register_module()
class CompositionPrompts:
    """Contrastive prompts of a two-object prompt "A and B" (each with a
    count): object and count permutations.

    In order: each object alone (singular); every pair of counts
    ``(c_A, c_B)`` in ``counts x counts`` other than the true one, in
    TIA2's order (by ``max(c_A, c_B)``, then ``min(c_A, c_B)``, then
    ``c_A`` descending);
    and, with ``hybrids``, "an A-like B" and "a B-like A".

    Args:
        counts (Sequence[int]): the counts to permute (TIA2: 1, 2, 3).
        hybrids (bool): add the two "X-like Y" prompts.
        tia2_joiners (bool): reproduce the released strings, which drop
            "and" for the count pairs (2, 2), (3, 2) and (3, 3)
            ("two airplanes two apples"); ``False`` always writes "and".
        irregular (dict, optional): extra singular -> plural nouns.
    """

    _NO_AND = {(2, 2), (3, 2), (3, 3)}

    def __init__(self, counts=(1, 2, 3), hybrids=True, tia2_joiners=True,
                 irregular=None):
        counts = sorted(set(int(c) for c in counts))
        if not counts or counts[0] < 1 or counts[-1] > len(NUMBERS):
            raise ConfigError(f'CompositionPrompts.counts must lie in '
                              f'[1, {len(NUMBERS)}]; got {counts}')
        self.counts, self.hybrids = counts, bool(hybrids)
        self.tia2_joiners, self.irregular = bool(tia2_joiners), irregular

    def parse(self, prompt):
        """``(prefix, [(c_A, A), (c_B, B)], suffix)``: the last two count
        words of the prompt start the two objects ("and" between them is
        optional)."""
        body, suffix = _split_suffix(prompt)
        words = body.split(' ')
        where = _count_positions(words[:-1])
        if len(where) < 2 or where[-1] - where[-2] < 2:
            raise DataError(f'CompositionPrompts: no "<count> <object> and '
                            f'<count> <object>" in prompt {prompt!r}')
        i, j = where[-2], where[-1]
        first = words[i + 1:j]
        if first and first[-1].lower() == 'and':
            first = first[:-1]
        objs = []
        for n_word, noun in ((words[i], first), (words[j], words[j + 1:])):
            n = _WORD_TO_COUNT[n_word.lower()]
            noun = ' '.join(noun)
            if not noun:
                raise DataError(f'CompositionPrompts: no object after '
                                f'{n_word!r} in prompt {prompt!r}')
            objs.append((n, noun if n == 1 else
                         singularize(noun, self.irregular)))
        prefix = ' '.join(words[:i]) + (' ' if i else '')
        return prefix, objs, suffix

    def pairs(self, true_pair):
        grid = [(a, b) for a in self.counts for b in self.counts
                if (a, b) != true_pair]
        return sorted(grid, key=lambda ab: (max(ab), min(ab), -ab[0]))

    def __call__(self, prompt):
        prefix, ((n_a, a), (n_b, b)), suffix = self.parse(prompt)
        irr = self.irregular
        out = [f'{prefix}{counted(a, 1, irr)}{suffix}',
               f'{prefix}{counted(b, 1, irr)}{suffix}']
        for c_a, c_b in self.pairs((n_a, n_b)):
            joiner = ' ' if (self.tia2_joiners
                             and (c_a, c_b) in self._NO_AND) else ' and '
            out.append(f'{prefix}{counted(a, c_a, irr)}{joiner}'
                       f'{counted(b, c_b, irr)}{suffix}')
        if self.hybrids:
            out += [f'{prefix}{article(a)} {a}-like {b}{suffix}',
                    f'{prefix}{article(b)} {b}-like {a}{suffix}']
        return out


def load_prompt_set(path):
    """A TIA2 ``prompt_set_*.json``: ``{prompt: [contrastive prompts]}``.

    Raises:
        DataError: the file is missing, not JSON, or not a mapping of
            strings to lists of strings (naming the first bad prompt).
    """
    data = read_json_object(
        path, 'prompt set', 'a prompt set is a JSON object mapping each '
        'prompt to a list of contrastive prompts')
    for prompt, others in data.items():
        if not (isinstance(others, list)
                and all(isinstance(o, str) for o in others)):
            raise DataError(f'{path}: the contrastive prompts of {prompt!r} '
                            'are not a list of strings')
    return data


@TASK_UTILS.register_module()
class PromptSet:
    """Contrastive prompts from a user file, with an optional rule-based
    fallback for prompts the file does not list.

    Args:
        path (str, optional): a ``prompt_set_*.json`` file.
        prompts (dict, optional): the same mapping given inline.
        fallback (dict | callable, optional): a generator (e.g.
            ``dict(type='CountingPrompts')``) for prompts not listed.
    """

    def __init__(self, path=None, prompts=None, fallback=None):
        self.table = dict(load_prompt_set(path) if path else {})
        self.table.update(prompts or {})
        if isinstance(fallback, dict):
            fallback = TASK_UTILS.build(fallback)
        self.fallback = fallback
        self.source = path or 'the inline prompt set'

    def __call__(self, prompt):
        if prompt in self.table:
            return list(self.table[prompt])
        if self.fallback is not None:
            return self.fallback(prompt)
        raise DataError(f'prompt {prompt!r} has no contrastive prompts in '
                        f'{self.source}')


def reproduction_rate(generator, released, prefix_count=None):
    """How many of the released contrastive prompts a generator writes
    exactly.

    Args:
        generator (callable): prompt -> list of contrastive prompts.
        released (dict): ``{prompt: [contrastive prompts]}``.
        prefix_count (int, optional): compare only the first this many
            released prompts of each entry (the rule-based part).

    Returns:
        dict: ``matched``, ``total``, ``fraction`` and the prompts whose
        set was reproduced in full (``exact_prompts``).
    """
    matched = total = exact = 0
    for prompt, others in released.items():
        others = others[:prefix_count] if prefix_count else others
        try:
            mine = set(generator(prompt))
        except DataError:
            mine = set()
        hits = sum(o in mine for o in others)
        matched += hits
        total += len(others)
        exact += hits == len(others)
    return dict(matched=matched, total=total,
                fraction=matched / max(total, 1), exact_prompts=exact,
                prompts=len(released))
