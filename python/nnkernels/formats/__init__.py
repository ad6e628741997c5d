"""Model file formats: reading and writing models in other tools' formats (ONNX, ...).

Each format's optional dependency is imported inside the functions that need it.
"""
