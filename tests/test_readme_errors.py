"""README.md's "Limits of the data readers" and "Errors and exit statuses" say what the
code does: the limits are the module constants, the exit statuses are the command
line's, the console session prints what it shows, and the long fuzz command runs (here
with a few cases)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PACKAGE_PARENT
from nnkernels import cli
from nnkernels.cli._common import EXIT_QUALITY
from nnkernels.datasets import _csv, _fetch, _idx, _images, _pypi

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def section(title):
    start = README.index(f"\n{title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


LIMITS = section("### Limits of the data readers")
ERRORS = section("## Errors and exit statuses")


@pytest.mark.parametrize("name, value, text", [
    ("MAX_IDX_BYTES", _idx.MAX_IDX_BYTES, "1 GiB"),
    ("MAX_CSV_BYTES", _csv.MAX_CSV_BYTES, "64 MiB"),
    ("MAX_CSV_ROWS", _csv.MAX_CSV_ROWS, "1,000,000"),
    ("MAX_CSV_COLUMNS", _csv.MAX_CSV_COLUMNS, "1,000"),
    ("MAX_CSV_FIELD_CHARS", _csv.MAX_CSV_FIELD_CHARS, "100"),
    ("MAX_IMAGE_SIDE", _images.MAX_IMAGE_SIDE, "4096 pixels"),
    ("MAX_IDX_IMAGES", _images.MAX_IDX_IMAGES, "100,000"),
    ("_pypi.MAX_MEMBER_BYTES", _pypi.MAX_MEMBER_BYTES, "256 MiB"),
    ("_fetch.MAX_BYTES", _fetch.MAX_BYTES, "256 MiB"),
])
def test_limits_table_is_the_code(name, value, text):
    [row] = [line for line in LIMITS.splitlines() if f"`{name}`" in line]
    assert f"| {text} |" in row
    number, _, unit = text.partition(" ")
    scale = {"GiB": 2**30, "MiB": 2**20}.get(unit, 1)
    assert value == int(number.replace(",", "")) * scale


def test_picture_formats_are_the_code():
    listed = re.search(r"only in the formats ([A-Za-z,\s]+?) \(`PICTURE_FORMATS`", LIMITS)[1]
    names = [n.strip() for n in re.split(r",| and ", listed) if n.strip()]
    assert [n.upper() for n in names] == list(_images.PICTURE_FORMATS)


def test_exit_statuses_are_the_code():
    rows = dict(re.findall(r"^\| +(\d+) \| (\w+)", ERRORS, flags=re.M))
    assert cli.EXIT_INTERRUPTED == cli.EXIT_RUNTIME  # Ctrl-C is in the runtime row
    assert rows == {str(cli.EXIT_OK): "success", str(cli.EXIT_RUNTIME): "a",
                    str(cli.EXIT_USAGE): "a", str(EXIT_QUALITY): "quality"}


def console_commands(text):
    """(command, expected output lines) of each ``$ `` line of the console block."""
    block = re.search(r"```console\n(.*?)```", text, flags=re.S)[1]
    session = []
    for line in block.splitlines():
        if line.startswith("$ "):
            session.append((line[2:], []))
        else:
            session[-1][1].append(line)
    return session


def matches(expected, actual):
    """Whether the lines match, "..." standing for any number of lines."""
    pattern = "\n".join(".*" if line == "..." else re.escape(line) for line in expected)
    return re.fullmatch(pattern, "\n".join(actual), flags=re.S) is not None


def test_console_session_prints_what_the_readme_shows(tmp_path):
    env = {**os.environ, "PYTHONPATH": PACKAGE_PARENT}
    env.pop("NNKERNELS_DEBUG", None)
    define = f'nnkernels() {{ "{sys.executable}" -m nnkernels "$@"; }}\n'
    session = console_commands(ERRORS)
    assert len(session) >= 4
    for command, expected in session:
        result = subprocess.run(["bash", "-c", define + command], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=120)
        assert matches(expected, result.stdout.splitlines()), (command, result.stdout)


def test_long_fuzz_command_runs_with_a_few_cases():
    block = LIMITS[re.search(r"the\s+long\s+run\s+is:", LIMITS).end():]
    command = re.search(r"```\n(.*?)\n```", block, flags=re.S)[1]
    assert command.startswith("NNKERNELS_FUZZ_CASES=100000 python -m pytest ")
    argv = command.split()[1:]
    argv[0] = sys.executable
    env = {**os.environ, "PYTHONPATH": PACKAGE_PARENT, "NNKERNELS_FUZZ_CASES": "3"}
    result = subprocess.run(argv + ["-p", "no:cacheprovider"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]
    for reader in ("read_idx raw images", "read_idx gzip plain", "read_csv",
                   "read_images PNG L", "read_images JPEG", "MNIST wheel stored"):
        assert re.search(rf"fuzz {reader}: \d+ cases, \d+ read, \d+ DatasetError, "
                         r"0 failures", result.stdout), reader
