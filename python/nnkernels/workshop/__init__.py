"""The Go workshop's three tasks end to end: load, split, fit, print the figures, draw.

A part of its own: the core of nnkernels never imports it (the command line does, for
``nnkernels train linear|logistic|iris``).

Each ``run_*`` function loads its data set with the workshop's split (the first 80 %
of the rows train, the last 20 % test: advertising 160/40, loan 2,000/500; iris
comes split, 120/30), fits the model of :mod:`nnkernels.linear_model`, prints the
figures on the test rows, writes its pictures and a ``metrics.json`` of the figures
into `output_dir` (created if needed), and returns the figures as a dict (the
content of ``metrics.json``, plus ``"files"``: name -> path of each file written).

They share the keyword arguments ``seed``, ``data`` and ``verbose``, so a command
line can call any of them the same way, through :data:`TASKS`::

    run = TASKS[args.task]                     # "linear", "logistic" or "iris"
    run(args.output_dir, seed=args.seed, data=args.data, verbose=not args.quiet)

Data
----
``data=None`` finds the workshop files as :mod:`nnkernels.datasets` does
(``$NNKERNELS_DATA/workshop/``, the user cache, else a verified download). A folder
given as ``data`` is searched first, its files are read as they are (no SHA-256
check, no download), so edited copies can be used. A malformed file raises the
loader's :class:`nnkernels.datasets.DatasetError`, naming the file, line and column,
unchanged.
"""
from nnkernels.workshop.iris import IrisNetwork, run_iris
from nnkernels.workshop.linear import run_linear
from nnkernels.workshop.logistic import run_logistic

__all__ = ["IrisNetwork", "TASKS", "run_linear", "run_logistic", "run_iris"]

#: The tasks by the name the command line uses.
TASKS = {"linear": run_linear, "logistic": run_logistic, "iris": run_iris}
