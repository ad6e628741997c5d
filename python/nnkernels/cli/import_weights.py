"""``nnkernels import-weights FILE --arch ... --activations ... -o OUT``: a plain state
dict in safetensors (from PyTorch, say) as an nnkernels model file."""
from pathlib import Path

from nnkernels.cli._common import EXIT_OK, UsageError
from nnkernels.formats.model_file import save
from nnkernels.formats.state_dict import import_weights, parse_architecture


def add_parser(sub):
    p = sub.add_parser(
        "import-weights", help="make a model file from a state dict saved as safetensors",
        description="Read the Linear weights (out, in) and biases of a state dict saved as "
                    "safetensors (torch: safetensors.torch.save_file(module.state_dict(), "
                    "FILE)), check their shapes layer by layer against --arch, and write "
                    "an nnkernels model file. PyTorch is not needed.")
    p.add_argument("file", metavar="FILE", type=Path, help="a .safetensors state dict")
    p.add_argument("--arch", required=True,
                   help="layer widths, input first, such as 784-250-100-10")
    p.add_argument("--activations", required=True,
                   help="one per layer: relu, sigmoid or linear; the last may be softmax "
                        "or log_softmax (a classifier), such as relu,relu,softmax")
    p.add_argument("--dtype", choices=("float32", "float64"),
                   help="the model's dtype (default: the weights' own, else float32)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                   help="the model file to write (such as model.safetensors)")
    p.set_defaults(func=run)


def run(args):
    try:
        parse_architecture(args.arch, args.activations)
    except ValueError as error:
        raise UsageError(f"import-weights: --{error}") from None
    model = import_weights(args.file, arch=args.arch, activations=args.activations,
                                     dtype=args.dtype)
    model.metadata = {"imported_from": args.file.name, "arch": args.arch,
                      "activations": args.activations}
    save(model, args.output, include_optimizer=False)
    print(f"{args.output}: {args.arch} ({args.activations}), {model.dtype.name}, "
          f"{model.count_params():,} parameters, loss {model.loss.name}, from {args.file}")
    return EXIT_OK
