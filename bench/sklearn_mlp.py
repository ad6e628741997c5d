"""nnkernels' MLPClassifier against scikit-learn's on MNIST, same settings, same run.

    NNKERNELS_DATA=/path/to/data python bench/sklearn_mlp.py [--epochs 10] [--batch 200]

Both get ``MLPClassifier(hidden_layer_sizes=(250, 100), solver="adam",
batch_size=..., max_iter=epochs, random_state=0)`` (tol and n_iter_no_change set so
that both run every epoch) on the 60,000 training images as float32 (both then
compute in float32), and are scored on the 10,000 test images. Prints a Markdown
table: training samples/s (epochs x 60,000 / fit seconds) and test accuracy.
"""
import argparse
import os
import sys
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from nnkernels.datasets import load_mnist
from nnkernels.neural_network import MLPClassifier

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import cpu_description  # noqa: E402


def run(cls, x, y, x_test, y_test, epochs, batch):
    model = cls(hidden_layer_sizes=(250, 100), solver="adam", batch_size=batch,
                max_iter=epochs, tol=0.0, n_iter_no_change=epochs, random_state=0)
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
    args = parser.parse_args()
    (x, y), (x_test, y_test) = load_mnist()
    rows = [(name, *run(cls, x, y, x_test, y_test, args.epochs, args.batch))
            for name, cls in (("nnkernels", MLPClassifier), ("scikit-learn", SkMLPClassifier))]
    print(f"CPU: {cpu_description()}\nMLPClassifier((250, 100)), adam, batch {args.batch}, "
          f"{args.epochs} epochs, random_state 0, float32")
    print("| estimator | samples/s | fit seconds | test accuracy |")
    print("|---|---:|---:|---:|")
    for name, rate, accuracy, seconds in rows:
        print(f"| {name} | {rate:,.0f} | {seconds:.1f} | {accuracy:.4f} |")
    print(f"speed-up: {rows[0][1] / rows[1][1]:.1f}x")


if __name__ == "__main__":
    main()
