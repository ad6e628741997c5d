"""``nnkernels evaluate MODEL``: test loss and accuracy, or MSE, of a saved model; with
--min-accuracy / --max-mse, a quality gate (exit status 3 when the model misses it)."""
import json
from pathlib import Path

from nnkernels._io import atomic_output

from nnkernels.cli._common import (DATASET_NAMES, EXIT_OK, EXIT_QUALITY, UsageError,
                                   add_data_options, err, float_above, load_data,
                                   load_model)


def add_parser(sub):
    p = sub.add_parser("evaluate", help="evaluate a saved model on the test set",
                       description="Load a model saved by 'nnkernels train' (or "
                                   "nnkernels.save) and print its test loss and accuracy "
                                   "(classifier) or mean squared error (autoencoder). "
                                   "With --min-accuracy or --max-mse it is a quality gate "
                                   "for a pipeline: exit status 3 when the model misses "
                                   "the threshold.")
    p.add_argument("model_file", metavar="MODEL", type=Path,
                   help="a model file: .safetensors (nnkernels.save), a legacy .nnk, or "
                        ".onnx (nnkernels.onnx.load)")
    p.add_argument("--min-accuracy", type=float_above(0, True), metavar="A",
                   help="classifier: exit with status 3 unless the test accuracy is >= A")
    p.add_argument("--max-mse", type=float_above(0, True), metavar="M",
                   help="autoencoder: exit with status 3 unless the test MSE is <= M")
    p.add_argument("--out", metavar="FILE", type=Path,
                   help="also write the figures (and the gate's verdict) to FILE as JSON")
    p.add_argument("--dataset", choices=DATASET_NAMES,
                   help="test set to use (default: the data set the model was trained on, "
                        "else mnist)")
    add_data_options(p)
    p.set_defaults(func=run)



def run(args):
    model, kind = load_model(args.model_file)
    if args.min_accuracy is not None and kind != "classifier":
        raise UsageError(f"--min-accuracy needs a classifier; {args.model_file} is an "
                         f"{kind} (use --max-mse)")
    if args.max_mse is not None and kind != "autoencoder":
        raise UsageError(f"--max-mse needs an autoencoder; {args.model_file} is a {kind} "
                         f"(use --min-accuracy)")
    dataset = args.dataset or model.metadata.get("dataset")
    if dataset not in DATASET_NAMES:
        dataset = "mnist"
    _, (x_test, y_test) = load_data(dataset, args.data, args.download)
    result = model.evaluate(x_test, y_test if kind == "classifier" else x_test)
    if kind == "classifier":
        print(f"{args.model_file}: {dataset} test set ({len(x_test)} images): "
              f"loss {result['loss']:.4f}  accuracy {result['accuracy']:.4f}")
    else:
        print(f"{args.model_file}: {dataset} test set ({len(x_test)} images): "
              f"MSE {result['loss']:.6f}")
    missed = None
    if args.min_accuracy is not None and not result["accuracy"] >= args.min_accuracy:
        missed = (f"test accuracy {result['accuracy']:.4f} < --min-accuracy "
                  f"{args.min_accuracy:g}")
    if args.max_mse is not None and not result["loss"] <= args.max_mse:
        missed = f"test MSE {result['loss']:.6f} > --max-mse {args.max_mse:g}"
    if args.out is not None:
        _write_json(args.out, {"model": str(args.model_file), "kind": kind,
                               "dataset": dataset, "test_samples": len(x_test),
                               **({"loss": result["loss"], "accuracy": result["accuracy"]}
                                  if kind == "classifier" else {"mse": result["loss"]}),
                               "min_accuracy": args.min_accuracy, "max_mse": args.max_mse,
                               "passed": missed is None})
    if missed is not None:
        err(f"nnkernels: quality gate failed: {missed}")
        return EXIT_QUALITY
    return EXIT_OK


def _write_json(path, record):
    with atomic_output(path, text=True) as f:
        f.write(json.dumps(record, indent=2, sort_keys=True) + "\n")

