"""Reading JSON files that users hand to rgl, with one clear error."""
import json
import os.path as osp

from .errors import DataError


def read_json_object(path, what,
                     not_object='expected a JSON object at the top level'):
    """The JSON object (dict) stored in ``path``.

    Raises:
        DataError: naming ``path`` when the file is missing (``what not
            found``), is not valid JSON, or is not an object at the top level
            (``not_object`` says what was expected).
    """
    if not osp.isfile(path):
        raise DataError(f'{what} not found: {path}')
    try:
        with open(path) as f:
            data = json.load(f)
    except json.JSONDecodeError as err:
        raise DataError(f'{path} is not valid JSON: {err}') from None
    if not isinstance(data, dict):
        raise DataError(f'{path}: {not_object}')
    return data
