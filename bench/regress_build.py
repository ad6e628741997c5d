"""Preparing one side of bench/regress.py: the git tree of a revision (or of the working
tree), its export and in-place build (with Cython's C shared between sides of equal
sources), a virtual environment that sees only that build, and the check that its
``import nnkernels`` comes from there. CannotRun is the error for exit status 2."""
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path


class CannotRun(Exception):
    """Exit status 2: the comparison cannot be made; the message says why."""


def git(repo, *args, env=None, binary=False):
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True,
                          env={**os.environ, **(env or {})})
    if proc.returncode:
        raise CannotRun(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout if binary else proc.stdout.decode().strip()


def tree_of(repo, rev):
    """(git tree id, description) of a revision, or of the working tree when rev is None."""
    if rev is not None:
        if subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet",
                           f"{rev}^{{commit}}"], capture_output=True).returncode:
            shallow = git(repo, "rev-parse", "--is-shallow-repository")
            raise CannotRun(f"revision {rev!r} is not in this clone"
                            + (" (a shallow clone: fetch more history)" if shallow == "true"
                               else ""))
        commit = git(repo, "rev-parse", f"{rev}^{{commit}}")
        return git(repo, "rev-parse", f"{commit}^{{tree}}"), f"{rev} ({commit[:10]})"
    # The working tree as git would commit it with `git add -A`, in a scratch index.
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        git_index = Path(git(repo, "rev-parse", "--git-path", "index"))
        if not git_index.is_absolute():
            git_index = Path(repo) / git_index
        if git_index.exists():
            shutil.copy2(git_index, index)
        env = {"GIT_INDEX_FILE": str(index)}
        git(repo, "add", "-A", env=env)
        tree = git(repo, "write-tree", env=env)
    return tree, "working tree"


def build(repo, tree, cache, rebuild, log):
    """Export `tree` into cache/<tree>/src and build it in place; the source folder."""
    import numpy
    key = f"{tree[:16]}-py{sys.version_info[0]}{sys.version_info[1]}-np{numpy.__version__}"
    side = cache / key
    src, done = side / "src", side / "built"
    if rebuild and side.exists():
        shutil.rmtree(side)
    if done.exists():
        log(f"  {tree[:10]}: reusing the build in {side}")
        return src
    if side.exists():
        shutil.rmtree(side)
    src.mkdir(parents=True)
    archive = git(repo, "archive", "--format=tar", tree, binary=True)
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    start = time.monotonic()
    generated = _cython_cache(cache, src)
    reused = sorted(generated.glob("*.c")) if generated.exists() and not rebuild else []
    for c_file in reused:  # newer than every source: cythonize leaves them as they are
        shutil.copy(c_file, src / "nnkernels" / c_file.name)
    log(f"  {tree[:10]}: building in {src}"
        + (" (Cython's C reused: same .pyx/.pxd)" if reused else "") + " ...")
    with open(side / "build.log", "w") as out:
        proc = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "-j", "2"],
                              cwd=src, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode:
        tail = (side / "build.log").read_text(errors="replace").splitlines()[-15:]
        raise CannotRun(f"the build of tree {tree[:10]} failed (log: {side / 'build.log'}):\n"
                        + "\n".join(tail))
    if not reused:
        generated.mkdir(parents=True, exist_ok=True)
        for c_file in (src / "nnkernels").glob("*.c"):
            shutil.copy2(c_file, generated / c_file.name)
    done.write_text(f"{time.monotonic() - start:.0f} s\n")
    log(f"  {tree[:10]}: built in {time.monotonic() - start:.0f} s")
    return src


def _cython_cache(cache, src):
    """Folder for the C that Cython generates from these sources: keyed by the content
    of every .pyx, .pxd and .pxi and the Cython version, so that two sides whose
    Cython sources are equal (a change to setup.py's compiler flags, to Python code, to
    a C header) cythonize once; the C compiler still compiles each side. Like an
    incremental build, it does not see a change of Cython directives in setup.py:
    --rebuild regenerates."""
    import hashlib
    import Cython
    digest = hashlib.sha256(Cython.__version__.encode())
    for path in sorted((src / "nnkernels").glob("*.p[yx][xdi]")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return cache / "cython" / digest.hexdigest()[:16]


def environment(src, cache_side):
    """A venv whose path is src/python, then this interpreter's site-packages."""
    venv = cache_side / "venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv",
                        "--without-pip", str(venv)], check=True)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig;"
                                "print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    mine = sysconfig.get_paths()
    lines = [str(src / "python")] + list(dict.fromkeys([mine["purelib"], mine["platlib"]]))
    (site / "nnkernels_regress.pth").write_text("\n".join(lines) + "\n")
    return python


def check_import(python, expected_dir):
    proc = subprocess.run([str(python), "-c", "import nnkernels; print(nnkernels.__file__)"],
                          capture_output=True, text=True, cwd=tempfile.gettempdir())
    if proc.returncode:
        raise CannotRun(f"{python}: import nnkernels failed:\n{proc.stderr[-2000:]}")
    where = Path(proc.stdout.strip()).resolve()
    if expected_dir is not None and Path(expected_dir).resolve() not in where.parents:
        raise CannotRun(f"{python} imports nnkernels from {where}, not from {expected_dir}")
    return where
