"""Model files in and out: the safetensors model file (``model_file``, over
``safetensors_file``), the legacy ``.nnk`` reader (``legacy_nnk``), PyTorch's names and
layout (``state_dict``), the converters from and to PyTorch (``pytorch``) and Keras
(``keras``), and ONNX export and import (``onnx_*``).

Each format's optional dependency is imported inside the functions that need it.
"""
