"""read_json_object: one clear error naming the file, of the caller's
class (DataError by default, ConfigError for files named in configs)."""
import pytest

from rgl.utils.errors import ConfigError, DataError
from rgl.utils.json_io import read_json_object


def test_reads_an_object(tmp_path):
    path = tmp_path / 'a.json'
    path.write_text('{"x": 1}')
    assert read_json_object(str(path), 'thing') == {'x': 1}


@pytest.mark.parametrize('error', [DataError, ConfigError])
def test_errors_name_the_file(tmp_path, error):
    missing, bad, listed = (tmp_path / n for n in ('m.json', 'b.json',
                                                   'l.json'))
    bad.write_text('{oops')
    listed.write_text('[1, 2]')
    with pytest.raises(error, match='thing not found: .*m.json'):
        read_json_object(str(missing), 'thing', error=error)
    with pytest.raises(error, match='b.json is not valid JSON'):
        read_json_object(str(bad), 'thing', error=error)
    with pytest.raises(error, match='l.json: want an object'):
        read_json_object(str(listed), 'thing', 'want an object',
                         error=error)
