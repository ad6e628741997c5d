"""Strict JSON: the one parser of every JSON header the model-file readers meet
(safetensors headers and their metadata strings, legacy .nnk headers, Keras configs).

Refused, each as a :class:`ModelFileError` naming the file: invalid UTF-8 or JSON, NaN
and Infinity, numbers that overflow a float, integers longer than :data:`MAX_INT_DIGITS`
digits, duplicate keys, nesting deeper than Python's recursion limit, and text longer than the
caller's limit (checked before decoding).
"""
import json

from nnkernels.formats.errors import fail

#: an integer of more digits is refused (a shape or an offset has at most 20)
MAX_INT_DIGITS = 32


_JSON_NAMES = {dict: "object", list: "array", str: "string", int: "number",
               float: "number", bool: "boolean", type(None): "null"}


def _no_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def _parse_int(text):
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits (at most "
                         f"{MAX_INT_DIGITS})")
    return int(text)


def _parse_float(text):
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:40]} overflows a float")
    return value


def _no_duplicates(pairs):
    result = dict(pairs)
    if len(result) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return result


def loads(raw, path, what, *, limit, expect=dict):
    """Parse `raw` (bytes or str) as strict JSON; its top level must be an `expect`.

    Parameters
    ----------
    raw : bytes or str
    path : the file the text came from (named in errors)
    what : str, what the text is ("safetensors header", "config.json", ...)
    limit : int, the most bytes (or characters) accepted
    expect : type of the top-level value (dict by default)

    Raises
    ------
    ModelFileError
    """
    if len(raw) > limit:
        raise fail(path, f"{what} is {len(raw)} bytes; at most {limit} are accepted")
    try:
        text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else raw
    except UnicodeDecodeError as error:
        raise fail(path, f"{what} is not valid UTF-8: {error}") from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant,
                           parse_int=_parse_int, parse_float=_parse_float)
    except RecursionError:
        raise fail(path, f"{what} nests too deeply") from None
    except ValueError as error:  # JSONDecodeError is a ValueError
        raise fail(path, f"{what} is not strict JSON: {error}") from None
    if not isinstance(value, expect):
        raise fail(path, f"{what} must be a JSON {_JSON_NAMES.get(expect, expect.__name__)}; "
                         f"found {_JSON_NAMES.get(type(value), type(value).__name__)}")
    return value


def dumps(value):
    """`value` as compact strict JSON text (ValueError for NaN or Infinity)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
