"""The one metric the core needs without scikit-learn: the confusion matrix behind the
classifier's pictures. For everything else use :mod:`sklearn.metrics`
(``pip install "nnkernels[sklearn]"``)."""
import numpy as np

__all__ = ["confusion_matrix"]


def confusion_matrix(y_true, y_pred, n_classes):
    """Counts of (true class, predicted class) pairs.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,), integer classes in [0, n_classes)
    n_classes : int

    Returns
    -------
    ndarray of shape (n_classes, n_classes), int64: ``C[i, j]`` samples of class i
    predicted as j (scikit-learn's layout).
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"confusion_matrix: y_true and y_pred must be 1-D of one length; "
                         f"got shapes {y_true.shape} and {y_pred.shape}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= n_classes):
            raise ValueError(f"confusion_matrix: {name} must hold integer classes in "
                             f"[0, {n_classes}); got dtype {y.dtype}, range "
                             f"[{y.min()}, {y.max()}]")
    flat = y_true.astype(np.int64) * n_classes + y_pred
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
