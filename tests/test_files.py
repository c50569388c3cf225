"""Files jplan writes (issue 29, item 5): atomic, and with the user's umask rather than mkstemp's 0600."""

import os
import stat

import pytest

from jplan._files import atomic_write_text


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_follow_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        path = tmp_path / "out.txt"
        atomic_write_text(path, "hello\n")
        assert stat.S_IMODE(path.stat().st_mode) == mode
        atomic_write_text(path, "again\n")  # replacing keeps to the umask too
        assert stat.S_IMODE(path.stat().st_mode) == mode and path.read_text() == "again\n"
    finally:
        os.umask(old)
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temporary file left behind
