"""nnkernels' MLPClassifier against scikit-learn's on MNIST, same settings, same run.

    NNKERNELS_DATA=/path/to/data python bench/sklearn_mlp.py [--epochs 10] [--batch 200]
        [--seeds 0,1,2]

Both get ``MLPClassifier(hidden_layer_sizes=(250, 100), solver="adam",
batch_size=..., max_iter=epochs, random_state=seed)`` (tol and n_iter_no_change set so
that both run every epoch) on the 60,000 training images as float32 (both then
compute in float32), and are scored on the 10,000 test images. The two alternate
seed by seed (the order flips each seed), because this VM's speed drifts between
runs. Prints a Markdown table per seed (training samples/s = epochs x 60,000 / fit
seconds, and test accuracy), the means, and the speed-up as the ratio of the median
rates.
"""
import argparse
import os
import statistics
import sys
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from nnkernels.datasets import load_mnist
from nnkernels.neural_network import MLPClassifier

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import cpu_description  # noqa: E402

ESTIMATORS = {"nnkernels": MLPClassifier, "scikit-learn": SkMLPClassifier}


def run(cls, x, y, x_test, y_test, epochs, batch, seed):
    model = cls(hidden_layer_sizes=(250, 100), solver="adam", batch_size=batch,
                max_iter=epochs, tol=0.0, n_iter_no_change=epochs, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(x, y)
        seconds = time.perf_counter() - start
    return model.n_iter_ * x.shape[0] / seconds, model.score(x_test, y_test), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated random_state values")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    (x, y), (x_test, y_test) = load_mnist()
    results = {name: [] for name in ESTIMATORS}
    for i, seed in enumerate(seeds):
        order = list(ESTIMATORS) if i % 2 == 0 else list(ESTIMATORS)[::-1]
        for name in order:
            results[name].append((seed, *run(ESTIMATORS[name], x, y, x_test, y_test,
                                              args.epochs, args.batch, seed)))
    print(f"CPU: {cpu_description()}; load average {os.getloadavg()[0]:.2f} at the end")
    print(f"MLPClassifier((250, 100)), adam, batch {args.batch}, {args.epochs} epochs, "
          f"float32, random_state {args.seeds}")
    print("| estimator | random_state | samples/s | fit seconds | test accuracy |")
    print("|---|---:|---:|---:|---:|")
    for name, rows in results.items():
        for seed, rate, accuracy, seconds in rows:
            print(f"| {name} | {seed} | {rate:,.0f} | {seconds:.1f} | {accuracy:.4f} |")
    for name, rows in results.items():
        print(f"| {name} | mean | {statistics.mean(r[1] for r in rows):,.0f} | "
              f"{statistics.mean(r[3] for r in rows):.1f} | "
              f"{statistics.mean(r[2] for r in rows):.4f} |")
    ours, theirs = ([r[1] for r in results[name]] for name in ESTIMATORS)
    print(f"speed-up (ratio of median rates): "
          f"{statistics.median(ours) / statistics.median(theirs):.2f}x")


if __name__ == "__main__":
    main()
