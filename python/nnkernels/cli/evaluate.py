"""``nnkernels evaluate MODEL``: test loss and accuracy, or MSE, of a saved model."""
from pathlib import Path

from nnkernels.cli._common import (DATASET_NAMES, EXIT_OK, add_data_options, load_data,
                                   load_model)


def add_parser(sub):
    p = sub.add_parser("evaluate", help="evaluate a saved model on the test set",
                       description="Load a model saved by 'nnkernels train' (or "
                                   "nnkernels.save) and print its test loss and accuracy "
                                   "(classifier) or mean squared error (autoencoder).")
    p.add_argument("model_file", metavar="MODEL", type=Path, help="a model file: .nnk, or .onnx (nnkernels.onnx.load)")
    p.add_argument("--dataset", choices=DATASET_NAMES,
                   help="test set to use (default: the data set the model was trained on, "
                        "else mnist)")
    add_data_options(p)
    p.set_defaults(func=run)



def run(args):
    model, kind = load_model(args.model_file)
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
    return EXIT_OK

