"""Load SciPy's BLAS table for the kernels without importing the scipy.linalg package.

The kernels `cimport scipy.linalg.cython_blas`; importing that module the usual way runs
scipy/linalg/__init__.py first, which imports most of scipy.linalg (about 0.5 s, two
thirds of `import nnkernels`). The extension module itself needs none of it: loading its
file directly, under its own name, takes about 40 ms. Later imports (ours, and a user's
`import scipy.linalg`) find it in sys.modules and use the same module object; when the
scipy.linalg package is imported later, _AttachToPackage makes `scipy.linalg.cython_blas`
an attribute of it again, as an ordinary import would have.

Anything unexpected (an unusual SciPy layout, a frozen application) falls back to the
ordinary import.
"""
import importlib.machinery
import importlib.util
import os
import sys

NAME = "scipy.linalg.cython_blas"


def preload():
    """Put scipy.linalg.cython_blas in sys.modules, the quick way if possible."""
    if NAME in sys.modules or "scipy.linalg" in sys.modules:
        return
    try:
        spec = importlib.util.find_spec("scipy")
        if spec is None or not spec.submodule_search_locations:
            return
        for folder in spec.submodule_search_locations:
            for suffix in importlib.machinery.EXTENSION_SUFFIXES:
                path = os.path.join(folder, "linalg", "cython_blas" + suffix)
                if os.path.isfile(path):
                    _load(path)
                    sys.meta_path.insert(0, _AttachToPackage())
                    return
    except BaseException as exc:  # noqa: BLE001
        sys.modules.pop(NAME, None)  # no half-loaded module left behind
        if not isinstance(exc, Exception):  # Ctrl-C and the like go on up
            raise
        # otherwise the ordinary import, on first use, still works


def _load(path):
    loader = importlib.machinery.ExtensionFileLoader(NAME, path)
    spec = importlib.util.spec_from_file_location(NAME, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = module  # preload() takes it out again if this fails
    loader.exec_module(module)


class _AttachToPackage:
    """Meta path finder: once scipy.linalg is executed, set its cython_blas attribute.

    It finds scipy.linalg through the finders after it, wraps the loader's exec_module,
    and removes itself from sys.meta_path on first use.
    """

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "scipy.linalg":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)  # the finders after this one
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _AttachingLoader(spec.loader)
        return spec


class _AttachingLoader:
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        module.__loader__ = module.__spec__.loader = self.loader  # hide the wrapper
        blas = sys.modules.get(NAME)
        if blas is not None and not hasattr(module, "cython_blas"):
            module.cython_blas = blas

    def __getattr__(self, name):  # is_package, get_code, get_resource_reader, ...
        return getattr(self.loader, name)
