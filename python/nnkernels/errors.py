"""The errors of training (the errors of files live beside their readers:
:class:`nnkernels.ModelFileError` in formats, :class:`nnkernels.datasets.DatasetError`
in datasets)."""


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the message names epoch and batch."""
