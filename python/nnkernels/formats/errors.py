"""The one exception of the model-file readers."""


class ModelFileError(ValueError):
    """A model file (safetensors, legacy .nnk, Keras, a state dict) that is malformed,
    corrupted, foreign or unsupported. The message names the file, what was expected and
    what was found."""


def fail(path, message):
    """A :class:`ModelFileError` for `message` about the file at `path`."""
    return ModelFileError(f"{path}: {message}")


def shown(value, limit=80):
    """repr(value) cut to about `limit` characters, for messages about hostile files."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}...({len(text)} characters)"
