"""Reading JSON files that users hand to rgl, with one clear error."""
import json
import os.path as osp

from .errors import DataError


def read_json_object(path, what,
                     not_object='expected a JSON object at the top level',
                     error=DataError):
    """The JSON object (dict) stored in ``path``.

    Raises:
        error (DataError by default; e.g. ConfigError for a file named in a
            config): naming ``path`` when the file is missing (``what not
            found``), unreadable, not valid JSON, or not an object at the top
            level (``not_object`` says what was expected).
    """
    if not osp.isfile(path):
        raise error(f'{what} not found: {path}')
    try:
        with open(path) as f:
            data = json.load(f)
    except json.JSONDecodeError as err:
        raise error(f'{path} is not valid JSON: {err}') from None
    except OSError as err:
        raise error(f'{what} {path}: cannot read it ({err})') from None
    if not isinstance(data, dict):
        raise error(f'{path}: {not_object}')
    return data
