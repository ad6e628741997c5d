"""What ``nnkernels train`` writes besides the model: the output folder's name,
``metrics.json`` (its schema) and the pictures of a trained MNIST model."""
import json
import platform
import time
from pathlib import Path

import numpy
import numpy as np

from nnkernels import metrics, plots
from nnkernels._info import version
from nnkernels._io import atomic_output
from nnkernels._threads import get_num_threads
from nnkernels.cli._common import class_names


def default_output(model, dataset):
    """runs/<model>-<dataset>-<YYYYmmdd-HHMMSS>/ (with -2, -3... if it exists)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{model}-{dataset}-{stamp}"
    out, i = base, 2
    while out.exists():
        out, i = Path(f"{base}-{i}"), i + 1
    return out


def metrics_record(results, history, ranks):
    """What metrics.json holds: the final train, validation and test figures, the
    settings, the seed, the sample counts and the versions; no timings, so that the
    same inputs, seed and thread count give the same bytes."""
    hist = history.history
    classifier = results["model"] == "classifier"
    keys = ("loss", "accuracy") if classifier else ("loss",)
    settings = ("epochs", "batch_size", "lr", "lr_schedule", "optimizer", "weight_decay",
                "dtype", "limit")
    return {
        "model": results["model"], "dataset": results["dataset"], "seed": results["seed"],
        "settings": {**{k: results[k] for k in settings},
                     "threads": get_num_threads(), "ranks": ranks},
        "train": {k: hist[k][-1] for k in keys if hist.get(k)},
        "validation": {k: hist[f"val_{k}"][-1] for k in keys if hist.get(f"val_{k}")},
        "test": ({"loss": results["test_loss"], "accuracy": results["test_accuracy"]}
                 if classifier else {"mse": results["test_mse"]}),
        "samples": {"train": results["train_samples"],
                    "validation": results["validation_samples"]},
        "epochs_completed": results["epochs_completed"],
        "interrupted": results["interrupted"],
        "versions": {"nnkernels": version(), "numpy": numpy.__version__,
                     "python": platform.python_version()},
    }


def write_metrics(path, results, history, ranks):
    """Write metrics_record(...) as sorted, indented JSON (atomically); returns path."""
    record = metrics_record(results, history, ranks)
    with atomic_output(path, text=True) as f:
        f.write(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path


def write_pictures(model, results, history, test_set, out, title):
    """The pictures of a trained classifier (correct and misclassified digits, the
    confusion matrix) or autoencoder (reconstructions), and the loss and accuracy
    curves when an epoch was completed; returns their paths."""
    x_test, y_test = test_set
    kind, hist = results["model"], history.history
    written = []
    if kind == "classifier":
        y_pred = model.predict_classes(x_test)
        written += plots.classification_grids(x_test, y_test, y_pred, out, seed=0)
        names = class_names(results["dataset"])
        cm = metrics.confusion_matrix(y_test, y_pred, len(names))
        written.append(plots.confusion_matrix_image(
            cm, out / "confusion_matrix.png", class_names=names,
            title=f"{title} test set: confusion matrix (accuracy "
                  f"{results['test_accuracy']:.4f})"))
    else:
        n = 20
        recon = np.clip(model.predict(x_test[:n]), 0.0, 1.0)
        written.append(plots.reconstruction_grid(
            x_test[:n], recon, out / "reconstructions.png", n=n,
            heading=f"{title} test images and their reconstructions "
                    f"(test MSE {results['test_mse']:.4f})"))
    if results["epochs_completed"]:
        curves = [("loss", "cross-entropy" if kind == "classifier" else "mean squared error")]
        if kind == "classifier":
            curves.append(("accuracy", "accuracy"))
        for key, label in curves:
            written.append(plots.line_plot(
                {"train": hist[key], "validation": hist[f"val_{key}"]}, out / f"{key}.png",
                title=f"{kind} on {title}: {key}", xlabel="epoch", ylabel=label))
    return written
