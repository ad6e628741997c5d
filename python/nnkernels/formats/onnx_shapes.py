"""The small shape computations that exporters put before a Reshape, evaluated on
symbolic shapes: ``Shape``, ``Gather``, ``Unsqueeze``, ``Squeeze``, ``Concat``, ``Cast``,
``Identity`` and constants. The batch size is the symbol ``"N"``; a value is a list of
ints and symbols with its rank (0 or 1)."""
from nnkernels.formats.onnx_common import attributes, type_name

MAX_DEPTH = 64
MAX_LENGTH = 16


class ShapeEvaluator:
    """Evaluates the int64 vector `name` of the graph, given the symbolic `shapes` of the
    tensors computed so far (name -> list of ints, None and "N")."""

    def __init__(self, graph, shapes):
        self.graph, self.shapes, self.memo = graph, shapes, {}

    def fail(self, label, message):
        self.graph.fail(f"{label}: {message}")

    def vector(self, name, label):
        values, rank = self._eval(name, label, 0)
        if rank != 1:
            self.fail(label, f"the target shape {name!r} is not a vector")
        return values

    def _eval(self, name, label, depth):
        if name in self.memo:
            return self.memo[name]
        if depth > MAX_DEPTH:
            self.fail(label, "the shape computation is nested too deeply")
        kind = self.graph.kind.get(name)
        if kind == "const":
            value = self.graph.constant(name, f"{label} shape")
            if value.dtype.kind not in "iu" or value.ndim > 1 or value.size > MAX_LENGTH:
                self.fail(label, f"shape tensor {name!r} must be a short int vector; got "
                                 f"{value.dtype} of shape {value.shape}")
            result = ([int(v) for v in value.reshape(-1)], value.ndim)
        elif kind == "shape":
            result = self._node(name, label, depth)
        else:
            self.fail(label, f"the target shape {name!r} depends on the input's values")
        if len(result[0]) > MAX_LENGTH:
            self.fail(label, f"shape tensor {name!r} is too long")
        self.memo[name] = result
        return result

    def _node(self, name, label, depth):
        i, node = self.graph.producer[name]
        op = node.op_type
        where = f"{op} node {node.name or '#' + str(i)}"
        attrs = attributes(node)
        if node.domain not in ("", "ai.onnx"):
            self.fail(label, f"operator {node.domain}::{op} in its shape computation")
        if op == "Shape":
            source = node.input[0]
            if source in self.shapes:
                shape = self.shapes[source]
            elif self.graph.kind.get(source) == "const":
                shape = list(self.graph.constant(source, label).shape)
            else:
                self.fail(label, f"{where} reads {source!r}, whose shape is not known")
            start, end = attrs.get("start", 0), attrs.get("end", len(shape))
            if not isinstance(start, int) or not isinstance(end, int):
                self.fail(label, f"{where}: bad start or end")
            return list(shape[start:end]), 1
        args = [self._eval(x, label, depth + 1) if x else None for x in node.input]
        if op in ("Identity", "Cast"):
            if op == "Cast" and attrs.get("to") not in (6, 7):
                self.fail(label, f"{where} casts a shape to {type_name(attrs.get('to'))}")
            return args[0]
        if op == "Gather":
            (data, rank), (indices, index_rank) = args[0], args[1]
            if rank != 1 or attrs.get("axis", 0) != 0:
                self.fail(label, f"{where}: only gathering from a vector is supported")
            if any(not -len(data) <= k < len(data) for k in indices):
                self.fail(label, f"{where}: index {indices} out of range for {data}")
            return [data[k] for k in indices], index_rank
        if op in ("Unsqueeze", "Squeeze"):
            data, rank = args[0]
            if "axes" in attrs:
                axes = attrs["axes"]
            else:
                axes = args[1][0] if len(args) > 1 and args[1] is not None else [0]
            if op == "Unsqueeze" and rank == 0 and axes in ([0], [-1]):
                return data, 1
            if op == "Squeeze" and rank == 1 and len(data) == 1 and axes in ([0], [-1]):
                return data, 0
            self.fail(label, f"{where}: only scalar <-> 1-element vector is supported")
        if op == "Concat":
            if None in args or any(rank != 1 for _, rank in args) \
                    or attrs.get("axis") not in (0, -1):
                self.fail(label, f"{where}: only joining vectors is supported")
            return [v for values, _ in args for v in values], 1
        self.fail(label, f"operator {op} ({where}) in its shape computation is not "
                         "supported")
