"""nnkernels._io.atomic_output: the one way the package writes files."""
import os
import stat

import pytest

from nnkernels._io import atomic_output


class Rejected(ValueError):
    pass


def test_keeps_the_old_file_when_the_check_rejects_the_new_one(tmp_path):
    dest = tmp_path / "f"
    dest.write_bytes(b"old")

    def reject(tmp):
        assert tmp.read_bytes() == b"new" and tmp.parent == tmp_path
        raise Rejected("no")

    with pytest.raises(Rejected):
        with atomic_output(dest, check=reject) as f:
            f.write(b"new")
    assert dest.read_bytes() == b"old" and list(tmp_path.iterdir()) == [dest]
    with atomic_output(dest) as f:
        f.write(b"new")
    assert dest.read_bytes() == b"new" and list(tmp_path.iterdir()) == [dest]


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_an_error_while_writing_leaves_nothing_behind(tmp_path, error):
    dest = tmp_path / "sub" / "f.csv"
    with pytest.raises(type(error)):
        with atomic_output(dest, text=True) as f:
            f.write("half")
            raise error
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_text_mode_writes_utf8_without_newline_translation(tmp_path):
    dest = tmp_path / "t.csv"
    with atomic_output(dest, text=True) as f:
        f.write("é,1\r\nx,2\n")
    assert dest.read_bytes() == "é,1\r\nx,2\n".encode()


def test_permissions_follow_the_umask_or_the_replaced_file(tmp_path):
    old = os.umask(0o027)
    try:
        with atomic_output(tmp_path / "new") as f:
            f.write(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o640
    os.chmod(tmp_path / "new", 0o600)
    with atomic_output(tmp_path / "new") as f:
        f.write(b"y")
    assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o600


def test_a_missing_folder_is_an_error_when_asked(tmp_path):
    with pytest.raises(OSError):
        with atomic_output(tmp_path / "missing" / "m.nnk", make_parents=False) as f:
            f.write(b"x")
    assert not (tmp_path / "missing").exists()
