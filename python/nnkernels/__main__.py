"""``python -m nnkernels``: the command line of :mod:`nnkernels.cli`."""
import sys

from nnkernels.cli import main

if __name__ == "__main__":
    sys.exit(main())
