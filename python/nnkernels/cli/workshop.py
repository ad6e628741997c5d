"""``nnkernels train linear|logistic|iris``: the Go workshop's end-to-end tasks
(:mod:`nnkernels.workshop`)."""
import time
from pathlib import Path

from nnkernels.cli._common import EXIT_OK, int_at_least

TASKS = {
    "linear": "linear regression of sales on TV and radio advertising (SGD through the "
              "kernels, checked against the closed form)",
    "logistic": "logistic regression: is a loan's interest rate at most 12 % given its "
                "FICO score",
    "iris": "the iris network, 4 -> 32 ReLU -> 3 softmax",
}


def add_parser(sub, task):
    p = sub.add_parser(
        task, help=TASKS[task],
        description=f"The Go workshop's {TASKS[task]}, on its data and split "
                    "(first 80 %% of rows train, last 20 %% test; iris as shipped): prints "
                    "the test figures and writes metrics.json and pictures into the "
                    "output folder.")
    if task != "iris":
        solvers = ("sgd", "lstsq") if task == "linear" else ("lbfgs", "sgd", "workshop")
        extra = ("; lbfgs: the maximum-likelihood fit, sgd: minibatch SGD on the same "
                 "objective, workshop: the workshop's own per-sample training"
                 if task == "logistic" else "")
        p.add_argument("--solver", choices=solvers, default=solvers[0],
                       help=f"(default: %(default)s{extra})")
    p.add_argument("--data", metavar="PATH", type=Path,
                   help="folder holding the workshop CSV files, read as they are (default: "
                        "$NNKERNELS_DATA/workshop/, the user cache, else download)")
    p.add_argument("--seed", type=int_at_least(0), default=0, help="(default: %(default)s)")
    p.add_argument("--output", metavar="DIR", type=Path,
                   help=f"output folder (default: runs/{task}-<YYYYmmdd-HHMMSS>/)")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing")
    p.set_defaults(func=run, task=task)


def run(args):
    from nnkernels import workshop
    out = args.output or Path("runs") / f"{args.task}-{time.strftime('%Y%m%d-%H%M%S')}"
    extra = {"solver": args.solver} if args.task != "iris" else {}
    workshop.TASKS[args.task](out, seed=args.seed, data=args.data, verbose=not args.quiet,
                              **extra)
    return EXIT_OK
