"""``nnkernels predict MODEL INPUT...``: classify or reconstruct images, printed or, with
--out DIR, written as one result file per input file (a pipeline's batch stage)."""
import csv
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from nnkernels import datasets
from nnkernels._io import atomic_output
from nnkernels.datasets import MAX_IMAGE_SIDE
from nnkernels.cli._common import (EXIT_OK, CLIError, UsageError, class_names, err,
                                   load_model, split_model_argument)

STDIN = "-"


def add_parser(sub):
    p = sub.add_parser(
        "predict", help="classify or reconstruct images with a saved model",
        usage="nnkernels predict [-h] [--json] [--out DIR] [MODEL] INPUT [INPUT ...]",
        description="Run a saved model on images. A picture (PNG, JPEG, BMP, GIF, TIFF, "
                    f"WebP or PPM, at most {MAX_IMAGE_SIDE} pixels a side) is "
                    "converted to 28x28 grayscale; MNIST digits are light on a dark "
                    "background, so a picture whose mean brightness is above 0.5 is "
                    "inverted (and the output says so). An IDX image file (such as "
                    "t10k-images-idx3-ubyte[.gz]) contributes every image it holds, as is. "
                    "A folder contributes every file in it (hidden ones aside), in name "
                    "order; '-' reads one image file from standard input. A classifier "
                    "gives the predicted class, its probability and the top 3; an "
                    "autoencoder the reconstruction MSE of each image. With --out, the "
                    "results go to one file per input file, nothing to stdout. Without a "
                    "model file, the pretrained MNIST classifier shipped with nnkernels "
                    "(nnkernels.pretrained) classifies the images.")
    p.add_argument("inputs", metavar="PATH", nargs="+",
                   help="a model file (.safetensors, a legacy .nnk, or .onnx; optional: "
                        "without one, the pretrained classifier), then image files (PNG, "
                        "JPEG, IDX), folders of them, or - (stdin)")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true",
                   help="JSON lines (one object per image) instead of text, or with --out "
                        "instead of CSV")
    output.add_argument("--csv", action="store_true",
                        help="CSV on stdout (a header, then file, index, class, label, "
                             "probability, inverted; autoencoder: file, index, mse, inverted) "
                             "instead of text")
    p.add_argument("--out", metavar="DIR", type=Path,
                   help="write one result per input file into DIR, created if needed: "
                        "<base name>.csv (file, index, class, label, probability, inverted; "
                        "autoencoder: file, index, mse, inverted), or .jsonl with --json")
    p.set_defaults(func=run)


def input_files(args_images):
    """The input files: each file, each folder's files (sorted by name), or STDIN."""
    files = []
    for arg in args_images:
        path = Path(arg)
        if arg == STDIN:
            if STDIN in files:
                raise CLIError("'-' (standard input) can be given only once")
            files.append(STDIN)
        elif path.is_dir():
            inside = sorted((p for p in path.iterdir()
                             if p.is_file() and not p.name.startswith(".")),
                            key=lambda p: p.name)
            if not inside:
                raise CLIError(f"{path}: the folder holds no files")
            files += inside
        else:
            files.append(path)  # read_images names a missing file
    return files


#: The most standard input may bring (an IDX file of 10,000 images is 7.8 MB).
STDIN_MAX_BYTES = 256 * 2**20


def _read(source):
    """read_images of a file, or of standard input's bytes (copied, up to
    STDIN_MAX_BYTES, to a private temporary file removed at once; errors name '-')."""
    if source != STDIN:
        return datasets.read_images(source)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "stdin"
        with open(path, "wb") as f:
            total = 0
            while chunk := sys.stdin.buffer.read(1 << 20):
                total += len(chunk)
                if total > STDIN_MAX_BYTES:
                    raise datasets.DatasetError(
                        f"- (standard input): more than {STDIN_MAX_BYTES} bytes; give the "
                        f"images as files")
                f.write(chunk)
        try:
            return datasets.read_images(path)
        except datasets.DatasetError as error:
            raise datasets.DatasetError(str(error).replace(str(path), "- (standard input)")) \
                from None


def run(args):
    args.model_file, args.images = split_model_argument(args.inputs)
    if not args.images:
        raise UsageError(f"the following arguments are required: INPUT (after the model "
                         f"file {args.model_file}) (see 'nnkernels predict --help')")
    model, kind = load_model(args.model_file)
    names = class_names(model.metadata.get("dataset", "mnist"))
    if kind == "classifier" and len(names) != model.out_features:
        names = [str(i) for i in range(model.out_features)]
    digits = all(name == str(i) for i, name in enumerate(names))

    def label(c):
        return names[c] if digits else f"{c} ({names[c]})"

    sources = input_files(args.images)
    targets = _result_paths(sources, args.out, ".jsonl" if args.json else ".csv")
    # Read every image first, so a bad file fails before any output.
    entries = [(source, *item) for source in sources for item in _read(source)]
    x = np.stack([pixels for _, _, pixels, _ in entries])
    outputs = model.predict(x)
    results = {source: [] for source in sources}
    for (source, index, pixels, inverted), out in zip(entries, outputs):
        where = f"{source}" if index is None else f"{source}[{index}]"
        record = {"file": str(source), "index": index, "inverted": inverted}
        if kind == "classifier":
            top = np.argsort(-out, kind="stable")[:3]
            c = int(top[0])
            record.update(
                {"class": c, "label": names[c], "probability": float(out[c]),
                 "top3": [{"class": int(t), "label": names[t], "probability": float(out[t])}
                          for t in top]})
            text = (f"{where}: {label(c)}  probability {out[c]:.4f}  top 3: "
                    + ", ".join(f"{label(int(t))} {out[t]:.4f}" for t in top))
        else:
            mse = float(np.mean((out.astype(np.float64) - pixels) ** 2))
            record["mse"] = mse
            text = f"{where}: reconstruction MSE {mse:.6f}"
        if inverted:
            text += "  (light background: inverted to light-on-dark)"
        if targets is None and not args.csv:
            print(json.dumps(record) if args.json else text)
        else:
            results[source].append(record)
    if targets is None and args.csv:
        sys.stdout.write(_csv_text([r for rs in results.values() for r in rs], kind))
    if targets is not None:
        for source, path in targets.items():
            _write_results(path, results[source], kind, args.json)
        err(f"wrote {len(targets)} result file(s) in {args.out}/")
    return EXIT_OK


def _result_paths(sources, out, suffix):
    """{source: out / (base name + suffix)}, or None without --out; CLIError when two
    inputs share a base name (before anything is read or written)."""
    if out is None:
        return None
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} exists and is not a folder")
    targets, seen = {}, {}
    for source in sources:
        base = "stdin" if source == STDIN else _base_name(source)
        if base in seen:
            raise CLIError(f"{seen[base]} and {source} would both write {base}{suffix} in "
                           f"{out}; give them different base names")
        seen[base] = source
        targets[source] = out / f"{base}{suffix}"
    return targets


def _base_name(path):
    """digit.png -> digit; t10k-images-idx3-ubyte.gz -> t10k-images-idx3-ubyte."""
    name = path.name
    return name[:-3] if name.endswith(".gz") else (path.stem or name)


_CSV_FIELDS = {"classifier": ("file", "index", "class", "label", "probability", "inverted"),
               "autoencoder": ("file", "index", "mse", "inverted")}


def _write_results(path, records, kind, as_json):
    with atomic_output(path, text=True) as f:
        if as_json:
            for record in records:
                f.write(json.dumps(record) + "\n")
            return
        f.write(_csv_text(records, kind))


def _csv_text(records, kind):
    """The CSV text (header and one row per record) of a list of result records."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_CSV_FIELDS[kind], extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()
