"""``nnkernels predict MODEL IMAGE...``: classify or reconstruct images."""
import json
from pathlib import Path

import numpy as np

from nnkernels.cli._common import EXIT_OK, class_names, load_model


def add_parser(sub):
    from nnkernels.datasets._images import MAX_IMAGE_SIDE
    p = sub.add_parser(
        "predict", help="classify or reconstruct images with a saved model",
        description="Run a saved model on images. A picture (PNG, JPEG, BMP, GIF, TIFF, "
                    f"WebP or PPM, at most {MAX_IMAGE_SIDE} pixels a side) is "
                    "converted to 28x28 grayscale; MNIST digits are light on a dark "
                    "background, so a picture whose mean brightness is above 0.5 is "
                    "inverted (and the output says so). An IDX image file (such as "
                    "t10k-images-idx3-ubyte[.gz]) contributes every image it holds, as is. "
                    "A classifier prints the predicted class, its probability and the top "
                    "3; an autoencoder the reconstruction MSE of each image.")
    p.add_argument("model_file", metavar="MODEL", type=Path, help="a model file: .nnk, or .onnx (nnkernels.onnx.load)")
    p.add_argument("images", metavar="IMAGE", type=Path, nargs="+",
                   help="PNG files or IDX image files")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per image instead of text")
    p.set_defaults(func=run)


def run(args):
    model, kind = load_model(args.model_file)
    names = class_names(model.metadata.get("dataset", "mnist"))
    if kind == "classifier" and len(names) != model.out_features:
        names = [str(i) for i in range(model.out_features)]
    digits = all(name == str(i) for i, name in enumerate(names))

    def label(c):
        return names[c] if digits else f"{c} ({names[c]})"

    # Read every image first, so a bad file fails before any output.
    from nnkernels.datasets import read_images
    entries = [(path, *item) for path in args.images for item in read_images(path)]
    x = np.stack([pixels for _, _, pixels, _ in entries])
    outputs = model.predict(x)
    for (path, index, pixels, inverted), out in zip(entries, outputs):
        where = f"{path}" if index is None else f"{path}[{index}]"
        record = {"file": str(path), "index": index, "inverted": inverted}
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
        print(json.dumps(record) if args.json else text)
    return EXIT_OK

