"""``nnkernels export MODEL OUT.onnx``: write a saved model as an ONNX file."""
from pathlib import Path

from nnkernels.cli._common import EXIT_OK, CLIError, UsageError, int_at_least, read_model_file


def add_parser(sub):
    p = sub.add_parser(
        "export", help="write a saved model as an ONNX file",
        description="Write a model saved by 'nnkernels train' (or nnkernels.save; an .onnx "
                    "file is read and written anew) as an ONNX file that onnxruntime and "
                    "other ONNX tools run: input 'input' of shape (batch, features), output "
                    "'probabilities' (classifier) or 'output' (autoencoder). Needs the onnx "
                    "extra: pip install \"nnkernels[onnx]\".")
    p.add_argument("model_file", metavar="MODEL", type=Path,
                   help="a model file: .safetensors (nnkernels.save), a legacy .nnk, or "
                        ".onnx")
    p.add_argument("output", metavar="OUT", type=Path, help="the ONNX file to write")
    p.add_argument("--opset", type=int_at_least(13), default=None,
                   help="ONNX operator set, 13 to the newest the onnx package knows "
                        "(default: 17, with IR version 8)")
    p.set_defaults(func=run)


def run(args):
    model = read_model_file(args.model_file)
    if args.output.is_dir():
        raise UsageError(f"{args.output}: is a folder; give the file to write")
    try:
        from nnkernels import onnx
        opset = onnx.DEFAULT_OPSET if args.opset is None else args.opset
        path = onnx.export(model, args.output, opset=opset)
    except ImportError as error:
        raise CLIError(str(error)) from None
    except ValueError as error:  # an opset out of range
        raise UsageError(str(error)) from None
    except OSError as error:
        raise CLIError(f"{args.output}: cannot write: {error.strerror or error}") from None
    print(f"{path}: ONNX opset {opset}, {model.in_features} inputs -> "
          f"{model.out_features} outputs")
    return EXIT_OK
