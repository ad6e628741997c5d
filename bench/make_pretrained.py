"""Make the pretrained MNIST classifier shipped in python/nnkernels/_data/.

    NNKERNELS_DATA=../shared/data python bench/make_pretrained.py

trains the talk's classifier with nnkernels.models.train_mnist's default recipe (10
epochs, RMSProp with cosine decay, L2 1e-4, batch 100, 5,000 images held out), seed 0,
on one thread (the same seed, thread count and BLAS give the same bits), stores its
weights in float16 in PyTorch's names and layout, and measures the test accuracy of
the weights as stored. Prints the figures; --output writes elsewhere.
"""
import argparse
from pathlib import Path

import numpy as np

import nnkernels
from nnkernels.formats import safetensors_file, state_dict

OUTPUT = Path(__file__).resolve().parents[1] / "python" / "nnkernels" / "_data" / \
    "mnist-classifier.safetensors"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    data = nnkernels.datasets.load_mnist()
    with nnkernels.num_threads(args.threads):
        model, _, results = nnkernels.models.train_mnist("classifier", arrays=data,
                                                         seed=args.seed, verbose=0)
    tensors = {k: v.astype(np.float16) for k, v in state_dict.state_dict(model).items()}
    made_by = f"python bench/make_pretrained.py --seed {args.seed} --threads {args.threads}"
    meta = {"dataset": "mnist", "seed": str(args.seed), "made_by": made_by,
            "arch": "784-250-100-10", "activations": "relu,relu,softmax",
            "nnkernels_version": nnkernels.__version__, "stored_dtype": "float16"}
    (x_test, y_test) = data[1]
    stored = state_dict.from_state_dict(tensors, meta["arch"], meta["activations"],
                                        dtype="float32")
    accuracy = stored.evaluate(x_test, y_test)["accuracy"]
    meta["test_accuracy"] = f"{accuracy:.4f}"
    meta["test_accuracy_float32"] = f"{results['test_accuracy']:.4f}"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    safetensors_file.write(args.output, tensors, meta)
    print(f"{args.output}: {args.output.stat().st_size} bytes; test accuracy "
          f"{accuracy:.4f} in float16 ({results['test_accuracy']:.4f} before rounding to "
          f"float16), {results['train_seconds']:.1f} s of training")


if __name__ == "__main__":
    main()
