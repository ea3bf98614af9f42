"""Sphinx configuration of rgl's documentation.

Build (what CI runs, warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Pages are Markdown (MyST). The API reference (docs/api/) is generated from
the docstrings of the real, imported modules (no mocks): the ``rgl-api``
directive below documents every module of a package, so new modules appear
without editing the pages.
"""
import importlib
import os
import os.path as osp
import pkgutil
import sys

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

DOCS = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(DOCS))  # a checkout builds without install

from rgl.version import __version__  # noqa: E402

project = 'rgl'
author = 'rgl contributors'
copyright = 'rgl contributors'
version = release = __version__

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
    'sphinx.ext.napoleon',
    'sphinx.ext.mathjax',
    'sphinx.ext.viewcode',
    'sphinx_copybutton',
]
source_suffix = {'.md': 'markdown'}
root_doc = 'index'
exclude_patterns = ['_build', 'Thumbs.db', '.DS_Store']
templates_path = []
html_theme = 'alabaster'
html_static_path = ['_static'] if osp.isdir(osp.join(DOCS, '_static')) \
    else []
html_title = f'rgl {release}'

# MyST: ```{eval-rst} blocks, :::{note} fences, $math$; section anchors for
# [text](page.md#section) links
myst_enable_extensions = ['colon_fence', 'dollarmath', 'deflist']
myst_heading_anchors = 3

# autodoc: members in source order, Google-style docstrings (napoleon)
autodoc_default_options = {
    'members': True,
    'member-order': 'bysource',
    'show-inheritance': True,
}
autodoc_typehints = 'description'
autodoc_inherit_docstrings = False
autodoc_class_signature = 'mixed'
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
# Docstrings name their types loosely (``dict | nn.Module``, ``Sequence``):
# they are read, not cross-referenced.
nitpicky = False

copybutton_prompt_text = r'\$ '
copybutton_prompt_is_regexp = True

# The guides link files outside docs/ (configs/<method>/README.md, tools/):
# they read well on GitHub, and Sphinx cannot resolve them. Only those
# warnings are dropped (see _drop_outside_links); a broken link between
# pages stays an error, and nothing is suppressed wholesale.
suppress_warnings = []

#: packages of the API reference, in the order of docs/api/index.md
API_PACKAGES = ('rgl.models', 'rgl.datasets', 'rgl.evaluation',
                'rgl.samplers', 'rgl.engine', 'rgl.apis', 'rgl.utils')


def _modules(package_name):
    """``package_name`` and every module below it, depth first, skipping
    private modules (``_x``) and the ``.mim`` data."""
    package = importlib.import_module(package_name)
    names = [package_name]
    if hasattr(package, '__path__'):
        for info in pkgutil.walk_packages(package.__path__,
                                          package_name + '.'):
            if not any(part.startswith('_')
                       for part in info.name.split('.')):
                names.append(info.name)
    return sorted(names)


class PackageAPI(SphinxDirective):
    """``rgl-api PACKAGE``: one section per module of PACKAGE.

    A package section shows its docstring; a module section documents the
    public classes and functions defined in that module, so every object
    appears once, under the module that defines it (re-exports such as
    ``rgl.models.encoders.MAEEncoder`` are listed in the package's
    ``__all__`` but documented at ``rgl.models.encoders.mae``).
    """

    required_arguments = 1
    has_content = False

    def run(self):
        # the pages are Markdown, so the generated text is MyST
        lines = []
        for name in _modules(self.arguments[0]):
            module = importlib.import_module(name)
            # autodoc writes reStructuredText: eval-rst parses it as such
            lines += [f'## `{name}`', '', '```{eval-rst}',
                      f'.. automodule:: {name}']
            if hasattr(module, '__path__'):
                lines.append('   :no-members:')
            lines += ['```', '']
        node = nodes.section()
        node.document = self.state.document
        source = self.get_source_info()[0]
        nested_parse_with_titles(
            self.state, StringList(lines, source), node)
        return node.children


def _drop_outside_links(app):
    """Drop MyST's "Unknown source document" warnings for links that leave
    docs/ (``../configs/<method>/README.md``): GitHub renders them, Sphinx
    has no page for them. Links between pages are still checked."""
    import logging

    class OutsideLinkFilter(logging.Filter):

        def filter(self, record):
            if (getattr(record, 'type', None), getattr(
                    record, 'subtype', None)) != ('myst', 'xref_missing'):
                return True
            msg = record.getMessage()
            quoted = msg.split("'")[1::2]
            target = quoted[-1] if quoted else ''
            if not osp.isabs(target):
                target = osp.join(_doc_dir(record), target.split('#')[0])
            return osp.normpath(target).startswith(DOCS + os.sep)

    # first in line: before Sphinx counts the warning (or raises, for -W)
    for handler in logging.getLogger('sphinx').handlers:
        handler.filters.insert(0, OutsideLinkFilter())


def _doc_dir(record):
    """Folder of the page a warning is about (its ``location``)."""
    location = getattr(record, 'location', None)
    if isinstance(location, tuple):
        location = location[0]
    path = getattr(location, 'source', None) or str(location or '')
    path = path.rsplit(':', 1)[0] if not osp.exists(path) else path
    if not osp.isabs(path):  # a docname such as 'methods/repa'
        path = osp.join(DOCS, path)
    return osp.dirname(path)


def setup(app):
    app.add_directive('rgl-api', PackageAPI)
    app.connect('builder-inited', _drop_outside_links)
    return {'parallel_read_safe': True}
