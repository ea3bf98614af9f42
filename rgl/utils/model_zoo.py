"""rgl's model zoo: the ``configs/<family>/metafile.yml`` files, read,
checked and printed as a table (``rgl list``, ``tools/misc/list_models.py``).

Each method folder under ``configs/`` holds one metafile in OpenMMLab's
model-index layout (``Collections`` and ``Models``, as in mmpretrain), with
three rgl rules that keep it honest and complete (docs/model_zoo.md):

- every result carries a ``Source``: :data:`MEASURED` for a number rgl
  produced on this project's 2-core CPU machine (small proxy data and
  budgets), :data:`PAPER` for a number from the paper or its official
  release. The two never share a ``Results`` entry;
- every model says how a user gets its weights locally (``Weights``: the
  file, ``Weights Command``: the command that writes or converts it);
- every config file of the folder is a model entry, or matches one of the
  folder's ``Fragments`` patterns (pieces other configs inherit).

Nothing here builds a model: reading the zoo needs only PyYAML (an
mmengine dependency); :func:`check_zoo` optionally loads every config with
mmengine's ``Config``.
"""
import fnmatch
import os
import os.path as osp
import re
import shutil
import textwrap
from dataclasses import dataclass, field

import yaml

from .assets import shipped_path
from .errors import ConfigError

#: ``Source`` of a number rgl measured here (small proxy runs on 2 CPU cores)
MEASURED = 'measured here (2-core CPU proxy)'
#: ``Source`` of a number from the paper or the authors' official release
PAPER = 'paper'
SOURCES = (MEASURED, PAPER)

METAFILE = 'metafile.yml'
#: keys every ``Models`` entry must have (strings unless noted)
MODEL_KEYS = ('Name', 'In Collection', 'Config', 'Results', 'Weights',
              'Weights Command')
#: folders under configs/ (and inside a family) that hold no models
SKIP_DIRS = ('_base_', '__pycache__')


@dataclass
class ZooModel:
    """One config of the zoo, as listed in its folder's metafile."""
    name: str
    family: str  # the folder under configs/, e.g. 'smoothing'
    collection: str  # the method (``In Collection``), e.g. 'CAT-RS'
    config: str  # repository-relative path, e.g. 'configs/smoothing/x.py'
    results: list = field(default_factory=list)
    weights: str = ''
    weights_command: str = ''
    metadata: dict = field(default_factory=dict)
    readme: str = ''
    paper: dict = field(default_factory=dict)
    metafile: str = ''
    display: str = ''  # the name in tables: ``family/name`` if ambiguous

    @property
    def key(self):
        """``'smoothing/catrs_...'``: unique across the zoo."""
        return f'{self.family}/{self.name}'

    @property
    def tasks(self):
        return _unique(r['Task'] for r in self.results)

    @property
    def datasets(self):
        return _unique(r['Dataset'] for r in self.results)

    def results_from(self, source):
        return [r for r in self.results if r['Source'] == source]

    def headline(self, source):
        """``'ACR 0.918'``: the first metric of the first result from
        ``source`` that has one, or ``''``."""
        for result in self.results_from(source):
            for metric, value in (result.get('Metrics') or {}).items():
                return f'{metric} {format_value(value)}'
        return ''


def _unique(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def format_value(value):
    if isinstance(value, float):
        return f'{value:g}' if abs(value) < 1e6 else f'{value:.3g}'
    return str(value)


def normalize(text):
    """Lower case, letters and digits only: ``'CIFAR-10'`` -> ``'cifar10'``,
    so filters match however a name is spelled."""
    return re.sub(r'[^0-9a-z]', '', str(text).lower())


# --------------------------------------------------------------------------
# reading and checking
# --------------------------------------------------------------------------
def configs_root(root=None):
    """The ``configs/`` folder (rgl's shipped one by default)."""
    return osp.abspath(root) if root else shipped_path('configs')


def families(root=None):
    """Method folders under ``configs/``: every folder but ``_base_``."""
    root = configs_root(root)
    return sorted(
        d for d in os.listdir(root)
        if osp.isdir(osp.join(root, d)) and d not in SKIP_DIRS
        and not d.startswith(('.', '_')))


def read_metafile(path):
    """The parsed YAML of ``path``; a :class:`ConfigError` naming the file
    when it is not YAML or not a mapping."""
    try:
        with open(path, encoding='utf-8') as f:
            meta = yaml.safe_load(f)
    except yaml.YAMLError as err:
        raise ConfigError(f'{path}: not valid YAML ({err})') from err
    if not isinstance(meta, dict):
        raise ConfigError(f'{path}: expected a mapping with Collections '
                          'and Models')
    return meta


def config_files(folder):
    """Config files of a family folder, relative to it (``'x.py'``,
    ``'encoders/y.py'``), without ``_base_`` folders."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS
                             and not d.startswith('.'))
        for fname in sorted(filenames):
            if fname.endswith('.py'):
                rel = osp.relpath(osp.join(dirpath, fname), folder)
                found.append(rel.replace(os.sep, '/'))
    return found


def _check_results(results, where):
    problems = []
    if not isinstance(results, list) or not results:
        return [f'{where}: Results must be a non-empty list (a Task and '
                'Dataset with no number are a result with empty Metrics '
                'and Notes saying why)']
    for i, result in enumerate(results):
        at = f'{where}, Results[{i}]'
        if not isinstance(result, dict):
            problems.append(f'{at}: expected a mapping')
            continue
        for key in ('Task', 'Dataset'):
            if not isinstance(result.get(key), str) or not result[key]:
                problems.append(f'{at}: {key} must be a non-empty string')
        if result.get('Source') not in SOURCES:
            problems.append(f'{at}: Source is {result.get("Source")!r}; '
                            f'it must be one of {list(SOURCES)}')
        metrics = result.get('Metrics')
        if metrics is None:
            metrics = result['Metrics'] = {}
        if not isinstance(metrics, dict):
            problems.append(f'{at}: Metrics must be a mapping '
                            'name -> value')
        elif not metrics and not result.get('Notes'):
            problems.append(f'{at}: empty Metrics need Notes saying why '
                            '(not run here, not retrieved, ...)')
        else:
            for name, value in metrics.items():
                if not isinstance(value, (int, float, str)) or \
                        isinstance(value, bool):
                    problems.append(f'{at}: metric {name!r} must be a '
                                    f'number or a string, not {value!r}')
    return problems


def _check_metafile(meta, family, rel_meta, repo):
    """Structural problems of one parsed metafile (strings), and its
    models."""
    problems, models = [], []
    collections = {}
    for i, coll in enumerate(meta.get('Collections') or []):
        where = f'{rel_meta}: Collections[{i}]'
        if not isinstance(coll, dict) or not coll.get('Name'):
            problems.append(f'{where}: needs a Name')
            continue
        readme = coll.get('README')
        # a docs/ page is not shipped in a wheel: only configs/ READMEs
        # are checked to exist
        if not isinstance(readme, str) or not readme or (
                readme.startswith('configs/')
                and not osp.isfile(osp.join(repo, readme))):
            problems.append(f'{where} ({coll["Name"]}): README {readme!r} '
                            'is not a file of the repository')
        paper = coll.get('Paper')
        if paper is not None and (not isinstance(paper, dict)
                                  or not paper.get('Title')):
            problems.append(f'{where} ({coll["Name"]}): Paper needs a '
                            'Title')
        collections[coll['Name']] = coll
    if not collections:
        problems.append(f'{rel_meta}: no Collections')
    entries = meta.get('Models')
    if not isinstance(entries, list) or not entries:
        problems.append(f'{rel_meta}: no Models')
        entries = []
    for i, entry in enumerate(entries):
        where = f'{rel_meta}: Models[{i}]'
        if not isinstance(entry, dict):
            problems.append(f'{where}: expected a mapping')
            continue
        where = f'{rel_meta}: {entry.get("Name", f"Models[{i}]")}'
        missing = [k for k in MODEL_KEYS if k not in entry]
        if missing:
            problems.append(f'{where}: missing {", ".join(missing)}')
            continue
        for key in ('Name', 'Config', 'Weights', 'Weights Command'):
            if not isinstance(entry[key], str) or not entry[key].strip():
                problems.append(f'{where}: {key} must be a non-empty '
                                'string')
        config = str(entry['Config'])
        if not config.startswith(f'configs/{family}/'):
            problems.append(f'{where}: Config {config!r} is not in '
                            f'configs/{family}/')
        elif not osp.isfile(osp.join(repo, config)):
            problems.append(f'{where}: Config {config} does not exist')
        stem = osp.splitext(osp.basename(config))[0]
        if entry['Name'] != stem:
            problems.append(f'{where}: Name must be the config file\'s '
                            f'name without .py ({stem!r})')
        coll = collections.get(entry['In Collection'])
        if coll is None:
            problems.append(f'{where}: In Collection '
                            f'{entry["In Collection"]!r} is not one of '
                            f'the Collections {sorted(collections)}')
            coll = {}
        problems += _check_results(entry['Results'], where)
        models.append(
            ZooModel(
                name=str(entry['Name']),
                family=family,
                collection=str(entry['In Collection']),
                config=config,
                results=[r for r in entry['Results']
                         if isinstance(r, dict)] if isinstance(
                             entry['Results'], list) else [],
                weights=str(entry['Weights']),
                weights_command=str(entry['Weights Command']),
                metadata=entry.get('Metadata') or {},
                readme=coll.get('README', ''),
                paper=coll.get('Paper') or {},
                metafile=rel_meta))
    return problems, models


def _check_coverage(meta, models, family, folder, rel_meta):
    """Every config file of the folder is listed or is a fragment."""
    problems = []
    fragments = meta.get('Fragments') or []
    if not isinstance(fragments, list):
        return [f'{rel_meta}: Fragments must be a list of glob patterns']
    listed = {m.config for m in models}
    used = set()
    for rel in config_files(folder):
        if f'configs/{family}/{rel}' in listed:
            continue
        hits = [p for p in fragments if fnmatch.fnmatch(rel, str(p))]
        used.update(hits)
        if not hits:
            problems.append(
                f'configs/{family}/{rel} is not listed in {rel_meta}: add '
                'a Models entry (or, for a piece other configs inherit, '
                'a Fragments pattern)')
    for pattern in fragments:
        if pattern not in used:
            problems.append(f'{rel_meta}: Fragments pattern {pattern!r} '
                            'matches no unlisted config file')
    return problems


def scan_zoo(root=None):
    """``(models, problems)`` of every metafile under ``configs/``.

    ``problems`` lists, one sentence each, what is missing or malformed:
    folders without a metafile, unlisted config files, missing configs,
    bad results, duplicate names. Configs are not loaded here (see
    :func:`check_zoo`).
    """
    root = configs_root(root)
    repo = osp.dirname(root)
    problems, models = [], []
    for family in families(root):
        folder = osp.join(root, family)
        path = osp.join(folder, METAFILE)
        rel_meta = f'configs/{family}/{METAFILE}'
        if not osp.isfile(path):
            if config_files(folder):
                problems.append(f'configs/{family}/ has no {METAFILE}')
            continue
        try:
            meta = read_metafile(path)
        except ConfigError as err:
            problems.append(str(err))
            continue
        found, family_models = _check_metafile(meta, family, rel_meta, repo)
        problems += found
        problems += _check_coverage(meta, family_models, family, folder,
                                    rel_meta)
        models += family_models
    seen, stems = set(), {}
    for model in models:
        if model.key in seen:
            problems.append(f'{model.name} is listed twice in '
                            f'{model.metafile}')
        seen.add(model.key)
        stems[model.name] = stems.get(model.name, 0) + 1
    for model in models:
        # configs of the same file name in several folders (sit_xl.py)
        # are shown with their folder
        model.display = model.key if stems[model.name] > 1 else model.name
    return models, problems


def load_zoo(root=None):
    """Every model of the zoo; a :class:`ConfigError` listing the problems
    when a metafile is malformed (see :func:`scan_zoo`)."""
    models, problems = scan_zoo(root)
    if problems:
        shown = '\n  '.join(problems[:10])
        more = f'\n  ... and {len(problems) - 10} more' \
            if len(problems) > 10 else ''
        raise ConfigError(f'the model zoo has {len(problems)} problem(s):'
                          f'\n  {shown}{more}')
    return models


def check_zoo(root=None, load_configs=True):
    """All problems of the zoo; with ``load_configs``, also every listed
    config that mmengine's ``Config.fromfile`` cannot load."""
    models, problems = scan_zoo(root)
    if load_configs:
        from mmengine.config import Config
        repo = osp.dirname(configs_root(root))
        for model in models:
            path = osp.join(repo, model.config)
            if not osp.isfile(path):
                continue  # already reported
            try:
                Config.fromfile(path)
            except Exception as err:  # noqa: BLE001 - reported, not raised
                first = (str(err).strip().splitlines() or [''])[0]
                problems.append(f'{model.config} does not load: '
                                f'{type(err).__name__}: {first}')
    return problems


# --------------------------------------------------------------------------
# filtering and printing
# --------------------------------------------------------------------------
def _matches(query, values):
    """Is ``query`` one of ``values``, ignoring case and punctuation?"""
    q = normalize(query)
    names = [normalize(v) for v in values]
    return q in names


def filter_models(models, family=None, task=None, dataset=None, name=None):
    """Models matching every given filter (each a list of alternatives, or
    a string). A family is a folder (``smoothing``) or a method
    (``CAT-RS``); an exact name wins over a substring, so ``--family
    smoothing`` does not include ``repa_smoothing``. Tasks and datasets
    match by substring, ignoring case and punctuation (``cifar10`` finds
    ``CIFAR-10``); names as :func:`_name_matches` says."""
    def alternatives(value):
        if value is None:
            return None
        return [value] if isinstance(value, str) else list(value)

    out = list(models)
    fams = alternatives(family)
    if fams:
        keep = []
        for query in fams:
            exact = [m for m in out
                     if _matches(query, (m.family, m.collection))]
            if not exact:
                q = normalize(query)
                exact = [m for m in out
                         if q in normalize(m.family)
                         or q in normalize(m.collection)]
            keep += [m for m in exact if m not in keep]
        out = [m for m in out if m in keep]
    for query, values_of in ((task, lambda m: m.tasks),
                             (dataset, lambda m: m.datasets)):
        queries = alternatives(query)
        if queries:
            qs = [normalize(q) for q in queries]
            out = [m for m in out if any(
                q in normalize(v) for q in qs for v in values_of(m))]
    names = alternatives(name)
    if names:
        out = [m for m in out if any(_name_matches(q, m) for q in names)]
    return out


def _name_matches(query, model):
    """``catrs_small`` is part of a config name; ``repa/sit_xl`` is the
    start of ``family/name`` (so not ``irepa/sit_xl``)."""
    query = query.lower()
    if query.endswith('.py'):
        query = query[:-3]
    if '/' in query:
        return model.key.lower().startswith(query.split('configs/')[-1])
    return query in model.name.lower()


#: (key, header, comfortable width, drop order). Too wide a table first
#: narrows each column to its comfortable width, then to its longest word,
#: in SHRINK_ORDER; when even that does not fit, the column with the
#: highest drop order goes.
COLUMNS = (
    ('name', 'Config', 40, 0),
    ('family', 'Family', 10, 3),
    ('method', 'Method', 14, 5),
    ('task', 'Task', 16, 4),
    ('dataset', 'Dataset', 14, 2),
    ('measured', 'Measured (CPU)', 20, 1),
    ('paper', 'Paper', 20, 1),
)
#: the order in which columns give up width (most expendable first)
SHRINK_ORDER = ('method', 'task', 'family', 'dataset', 'name', 'paper',
                'measured')


def row_of(model):
    return dict(
        name=model.display or model.name,
        family=model.family,
        method=model.collection,
        task=', '.join(model.tasks),
        dataset=', '.join(model.datasets),
        measured=model.headline(MEASURED) or '-',
        paper=model.headline(PAPER) or '-')


def _wrap(text, width):
    return textwrap.wrap(text, width, break_long_words=True,
                         break_on_hyphens=True) or ['']


def _floor(key, longest_word, name_floor):
    if key == 'name':
        return name_floor
    if key in ('measured', 'paper'):
        return 16  # the results are what the table is for
    return min(longest_word, 14)


def _fit(columns, rows, width, gap, name_floor=24):
    """Column widths that fit ``width``, or None when even every column at
    its floor (:func:`_floor`) does not."""
    widths = {k: max([len(h)] + [len(r[k]) for r in rows])
              for k, h, _, _ in columns}
    words = {k: max([len(w) for r in rows for w in r[k].split()] + [6])
             for k, _, _, _ in columns}
    steps = ({k: min(c, widths[k]) for k, _, c, _ in columns},
             {k: min(_floor(k, words[k], name_floor), widths[k])
              for k, _, _, _ in columns})
    excess = sum(widths.values()) + gap * (len(columns) - 1) - width
    for floors in steps:
        for key in SHRINK_ORDER:
            if excess <= 0:
                return [widths[k] for k, _, _, _ in columns]
            if key in widths and widths[key] > floors[key]:
                cut = min(excess, widths[key] - floors[key])
                widths[key] -= cut
                excess -= cut
    if excess > 0:
        return None
    return [widths[k] for k, _, _, _ in columns]


def format_table(models, width=None, gap=2):
    """A plain-text table of ``models`` at most ``width`` characters wide
    (the terminal's width by default). Long cells wrap; on a narrow
    terminal the method, task and family columns go first."""
    if width is None:
        width = shutil.get_terminal_size((120, 24)).columns
    width = max(int(width), 40)
    rows = [row_of(m) for m in models]
    # drop the expendable columns before the names get narrow, then let
    # the names wrap more
    widths = None
    for name_floor in (40, 24):
        columns = list(COLUMNS)
        widths = _fit(columns, rows, width, gap, name_floor)
        while widths is None and len(columns) > 4:
            columns.remove(max(columns, key=lambda c: c[3]))
            widths = _fit(columns, rows, width, gap, name_floor)
        if widths is not None:
            break
    if widths is None:  # Config and two results still too wide: share
        share = (width - gap * (len(columns) - 1)) // len(columns)
        widths = [max(share, 8)] * len(columns)
    sep = ' ' * gap
    lines = []

    def emit(cells):
        wrapped = [_wrap(c, w) for c, w in zip(cells, widths)]
        for j in range(max(len(w) for w in wrapped)):
            parts = [(w[j] if j < len(w) else '').ljust(widths[i])
                     for i, w in enumerate(wrapped)]
            lines.append(sep.join(parts).rstrip())

    emit([h for _, h, _, _ in columns])
    lines.append(sep.join('-' * w for w in widths))
    for row in rows:
        emit([row[k] for k, _, _, _ in columns])
    return '\n'.join(lines)


def _md_cell(text):
    return str(text).replace('|', '\\|')


def format_markdown(models):
    """A Markdown table of ``models`` (docs/model_zoo.md)."""
    headers = [h for _, h, _, _ in COLUMNS]
    headers[-2] = 'Measured here (2-core CPU proxy)'
    lines = ['| ' + ' | '.join(headers) + ' |',
             '|' + '---|' * len(headers)]
    for model in models:
        row = row_of(model)
        cells = [f'`{row["name"]}`'] + [
            _md_cell(row[k]) for k, _, _, _ in COLUMNS[1:]]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def format_details(model):
    """Everything the metafile says about one model, as text."""
    out = [f'{model.key}  ({model.collection})',
           f'  config:  {model.config}',
           f'  readme:  {model.readme}']
    if model.paper:
        url = f' ({model.paper["URL"]})' if model.paper.get('URL') else ''
        out.append(f'  paper:   {model.paper.get("Title", "")}{url}')
    for key, value in model.metadata.items():
        out.append(f'  {key.lower()}: {value}')
    out.append('  results:')
    for result in model.results:
        metrics = ', '.join(f'{k} {format_value(v)}'
                            for k, v in result['Metrics'].items()) or '-'
        out.append(f'    [{result["Source"]}] {result["Task"]} on '
                   f'{result["Dataset"]}: {metrics}')
        if result.get('Notes'):
            for line in textwrap.wrap(str(result['Notes']), 72):
                out.append(f'        {line}')
    out.append(f'  weights: {model.weights}')
    out.append(f'  get them: {model.weights_command}')
    return '\n'.join(out)


#: the markers between which docs/model_zoo.md holds the generated table
DOC_BEGIN = '<!-- model-zoo-table: begin (generated) -->'
DOC_END = '<!-- model-zoo-table: end -->'


def render_doc_table(models):
    return (f'{DOC_BEGIN}\n\n{format_markdown(models)}\n\n'
            f'{len(models)} configs.\n\n{DOC_END}')


def update_doc(path, models):
    """Replace the generated table of ``path`` (between :data:`DOC_BEGIN`
    and :data:`DOC_END`); returns True when the file changed."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    start, end = text.find(DOC_BEGIN), text.find(DOC_END)
    if start < 0 or end < start:
        raise ConfigError(f'{path} has no {DOC_BEGIN} ... {DOC_END} '
                          'markers to put the table between')
    new = text[:start] + render_doc_table(models) + \
        text[end + len(DOC_END):]
    if new != text:
        with open(path, 'w', encoding='utf-8') as f:
            f.write(new)
    return new != text
