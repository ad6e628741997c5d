"""PNG pictures for the ``nnkernels`` command line, drawn with Pillow only.

Every public function validates its inputs -- a bad one raises ``ValueError``
whose message names the argument, what was expected and what was received --
renders an RGB image, writes it atomically as PNG (a temporary file in the
destination folder, then ``os.replace``; missing parent folders are created)
and returns the destination as a :class:`pathlib.Path`.

Digit pictures take MNIST-like images of shape ``(n, 784)`` or
``(n, 28, 28)``, either floating point in ``[0, 1]`` or ``uint8`` in
``[0, 255]``, and draw them dark-on-white.  All charts go through one
axes helper, :func:`nnkernels.plots.charts._chart`.
"""
from .charts import confusion_matrix_image, line_plot, roc_curve_image, scatter_with_line
from .digits import classification_grids, digit_grid, reconstruction_grid

__all__ = ["digit_grid", "classification_grids", "confusion_matrix_image", "line_plot",
           "scatter_with_line", "roc_curve_image", "reconstruction_grid"]
