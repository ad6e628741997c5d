"""Choose the classifier's default training settings on the validation split only.

    NNKERNELS_DATA=/path/to/data python bench/tune_defaults.py [--seeds 0,1]
        [--epochs 10,20] [--lr 5e-4,1e-3,2e-3] [--weight-decay 0,1e-4,5e-4]

Trains :func:`nnkernels.models.train_mnist` ("classifier") for every setting of the
grid below and each seed, and ranks the settings by mean validation accuracy (the last
5,000 training images, held out). The test set is never read: train_mnist is handed a
stand-in test set (the first 100 validation images), so its test figures mean nothing
and are not printed. The chosen settings go into ``models.TRAIN_DEFAULTS``; the
acceptance (test accuracy for seeds 0-4) is measured afterwards, once.
"""
import argparse
import itertools
import os
import statistics
import sys

from nnkernels import models
from nnkernels.datasets import load_mnist

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import cpu_description  # noqa: E402

GRID = {"epochs": "10,20", "lr": "5e-4,1e-3,2e-3", "weight_decay": "0,1e-4,5e-4"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1")
    for name, default in GRID.items():
        parser.add_argument("--" + name.replace("_", "-"), default=default,
                            help="comma-separated values (default: %(default)s)")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    grid = {name: [(int if name == "epochs" else float)(v)
                   for v in getattr(args, name).split(",")] for name in GRID}
    (x, y), _ = load_mnist()
    stand_in_test = (x[-100:], y[-100:])  # validation images: the test set stays unread
    rows = []
    for values in itertools.product(*grid.values()):
        settings = dict(zip(grid, values))
        accuracies = []
        for seed in seeds:
            _, _, results = models.train_mnist("classifier", arrays=((x, y), stand_in_test),
                                               seed=seed, verbose=0, **settings)
            accuracies.append(results["val_accuracy"])
        rows.append((statistics.mean(accuracies), min(accuracies), settings))
        print(f"{settings}: validation accuracy {accuracies}", file=sys.stderr, flush=True)
    print(f"CPU: {cpu_description()}\nclassifier, validation split (last 5,000 training "
          f"images), seeds {args.seeds}; other settings as TRAIN_DEFAULTS")
    print("| epochs | lr | weight_decay | mean val. accuracy | min |")
    print("|---:|---:|---:|---:|---:|")
    for mean, low, s in sorted(rows, key=lambda r: -r[0]):
        print(f"| {s['epochs']} | {s['lr']:g} | {s['weight_decay']:g} | {mean:.4f} | {low:.4f} |")


if __name__ == "__main__":
    main()
