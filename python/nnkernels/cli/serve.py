"""``nnkernels serve [MODEL ...]``: models behind the Open Inference Protocol (KServe v2)
REST API, with dynamic batching (nnkernels.serve does the work; this parses and starts)."""
from pathlib import Path

from nnkernels.cli._common import (EXIT_OK, CLIError, UsageError, err, float_above,
                                   int_at_least, thread_count)


def _port(text):
    value = int_at_least(0)(text)
    if value > 65535:
        import argparse
        raise argparse.ArgumentTypeError(f"must be a port from 0 to 65535, got {value}")
    return value


def add_parser(sub):
    p = sub.add_parser(
        "serve", help="serve models over HTTP (Open Inference Protocol / KServe v2)",
        description="Serve model files (.safetensors, a legacy .nnk, or .onnx) over the Open "
                    "Inference Protocol (KServe v2 REST): /v2/health/live, /v2/health/ready, "
                    "/v2, /v2/models/NAME[/ready], POST /v2/models/NAME/infer (JSON tensors "
                    "or Triton's binary tensor extension) and, for MNIST classifiers, POST "
                    "/v2/models/NAME/classify with a PNG or JPEG body; Prometheus metrics at "
                    "/metrics. Concurrent requests are batched into one predict call. "
                    "Without a model file, the pretrained MNIST classifier is served as "
                    "'mnist_classifier'. SIGTERM or Ctrl-C: readiness turns false, requests "
                    "in flight finish (within --grace), exit status 0. Needs the 'serve' "
                    "extra: pip install \"nnkernels[serve]\". See docs/serving.md.")
    p.add_argument("models", metavar="MODEL", nargs="*", type=Path,
                   help="model files (default: the pretrained MNIST classifier)")
    p.add_argument("--name", action="append", metavar="NAME",
                   help="the model's name in URLs (default: the file's stem); once per MODEL")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0: every interface)")
    p.add_argument("--port", type=_port, default=8000,
                   help="port to listen on (default 8000; 0: any free port, printed)")
    p.add_argument("--max-batch", type=int_at_least(1), default=64, metavar="ROWS",
                   help="most rows in one predict call (default 64)")
    p.add_argument("--max-wait-ms", type=float_above(0, inclusive=True), default=2.0,
                   metavar="MS", help="longest a batch waits for requests still being read "
                                      "(default 2 ms)")
    p.add_argument("--max-queue", type=int_at_least(1), default=1024, metavar="ROWS",
                   help="most rows waiting per model; beyond, 503 (default 1024); also the "
                        "most rows of one request (beyond: 413)")
    p.add_argument("--max-body-mb", type=float_above(0, inclusive=False), default=32.0,
                   metavar="MB", help="largest request body in MiB; beyond, 413 (default 32)")
    p.add_argument("--grace", type=float_above(0, inclusive=True), default=8.0,
                   metavar="SECONDS",
                   help="time requests in flight get after SIGTERM (default 8 s)")
    p.add_argument("--threads", type=thread_count, default=None,
                   help="kernel threads of predict (default: the CPUs less one for the "
                        "event loop, at least 1)")
    p.set_defaults(func=run)


def run(args):
    names = args.name or []
    if names and len(names) != max(1, len(args.models)):
        raise UsageError(f"give --name once per MODEL: {len(names)} name(s) for "
                         f"{max(1, len(args.models))} model(s) (see 'nnkernels serve --help')")
    try:
        from nnkernels import serve
        serve._require_extra()
    except ImportError as error:
        raise CLIError(str(error)) from None
    from nnkernels.cli._common import read_model_file
    from nnkernels.serve._app import ServedModel, ServerSettings
    if args.models:
        served = [ServedModel(names[i] if names else path.stem, read_model_file(path))
                  for i, path in enumerate(args.models)]
    else:
        served = [serve.load_served_model(None, names[0] if names else None)]
    seen = set()
    for model in served:
        if model.name in seen:
            raise UsageError(f"two models are named {model.name!r}; give each a --name")
        seen.add(model.name)
    settings = ServerSettings(max_batch=args.max_batch, max_wait=args.max_wait_ms / 1000,
                              max_queue=args.max_queue,
                              max_body_bytes=int(args.max_body_mb * 2**20))

    def listening(host, port):
        err(f"nnkernels serve: {', '.join(m.name for m in served)} on http://{host}:{port} "
            f"(Ctrl-C or SIGTERM to stop)")

    try:
        serve.run(served, args.host, args.port, settings, grace=args.grace,
                  threads=args.threads, on_listening=listening)
    except OSError as error:  # the port is taken, say
        raise CLIError(f"cannot serve on {args.host}:{args.port}: "
                       f"{error.strerror or error}") from None
    err("nnkernels serve: stopped")
    return EXIT_OK
