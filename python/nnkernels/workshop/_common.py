"""What the workshop's tasks share: the split, data loading, writing metrics.json,
classification figures."""
import json
import os
from pathlib import Path

from sklearn import metrics

from nnkernels._io import atomic_output

TRAIN_FRACTION = 0.8
LOAN_CLASSES = ("high rate (0)", "low rate (1)")


# -- helpers shared by the tasks ----------------------------------------------------

def _loader_kwargs(data):
    """Keyword arguments for a workshop loader: a given folder is read as it is."""
    return {} if data is None else {"path": data, "download": False, "verify": False}


def _out(output_dir):
    folder = Path(os.fspath(output_dir))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _finish(figures, folder, files, lines, verbose):
    """Write metrics.json, print `lines` and the files written; return the figures."""
    files["metrics"] = folder / "metrics.json"
    with atomic_output(files["metrics"]) as fh:
        fh.write((json.dumps(figures, indent=2) + "\n").encode())
    figures["files"] = {name: str(path) for name, path in files.items()}
    if verbose:
        print("\n".join(lines + [f"wrote {path}" for path in figures["files"].values()]))
    return figures


def _classification_figures(y_true, y_pred, labels, average):
    """Accuracy, precision, recall, F1 and the confusion matrix (rows: true labels)."""
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        y_true, y_pred, average=average)
    return {"accuracy": metrics.accuracy_score(y_true, y_pred), "precision": precision,
            "recall": recall, "f1": f1,
            "confusion_matrix": metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist()}


def _format_matrix(cm, names):
    """The confusion matrix as text lines: rows true classes, columns predicted."""
    rows = [["true \\ predicted", *names]] + [[name, *map(str, row)]
                                               for name, row in zip(names, cm)]
    first = max(len(row[0]) for row in rows)
    width = max(len(v) for row in rows for v in row[1:])
    return ["    " + row[0].ljust(first) + "".join(f"  {v:>{width}}" for v in row[1:])
            for row in rows]


