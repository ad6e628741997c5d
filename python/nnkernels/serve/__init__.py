"""``nnkernels serve``: models behind the Open Inference Protocol (KServe v2) REST API,
with dynamic batching. Needs the ``serve`` extra (``pip install "nnkernels[serve]"``).

The path of a request::

    uvicorn (httptools, uvloop)        HTTP, on the event loop's thread
      -> the Starlette app (_app)      routes, body limits, errors, metrics, readiness
      -> the protocol (_protocol)      JSON or binary tensors <-> one array of rows
      -> the batcher (_batcher)        bounded queue; concurrent rows -> one predict
      -> model.predict                 on one worker thread, the kernels without the GIL

From Python::

    import nnkernels
    from nnkernels import serve
    serve.run([serve.ServedModel("mnist", nnkernels.pretrained.mnist_classifier())],
              port=8000)

See docs/serving.md for the endpoints, the metrics and a KServe manifest.
"""
from nnkernels.serve._protocol import ProtocolError

__all__ = ["ProtocolError", "ServedModel", "ServerSettings", "create_app", "run",
           "default_threads", "load_served_model"]

#: The name of the pretrained classifier when no model file is given.
PRETRAINED_NAME = "mnist_classifier"


def _require_extra():
    try:
        import orjson  # noqa: F401
        import prometheus_client  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:
        raise ImportError(f"nnkernels serve needs the 'serve' extra ({error.name} is "
                          "missing): pip install \"nnkernels[serve]\"") from None


def __getattr__(name):
    if name in ("ServedModel", "ServerSettings", "create_app"):
        _require_extra()
        from nnkernels.serve import _app
        return getattr(_app, name)
    raise AttributeError(f"module 'nnkernels.serve' has no attribute {name!r}")


def default_threads():
    """Kernel threads for predict: the CPUs this process may use, less one for the event
    loop (which parses HTTP and JSON while predict runs), at least one."""
    from nnkernels._threads import available_cpus
    return max(1, available_cpus() - 1)


def load_served_model(path=None, name=None):
    """A ServedModel of a model file (safetensors, legacy .nnk, or ONNX through
    nnkernels.onnx), named `name` or the file's stem; with no path, the pretrained MNIST
    classifier as ``mnist_classifier``."""
    _require_extra()
    from pathlib import Path

    from nnkernels.serve._app import ServedModel
    if path is None:
        from nnkernels import pretrained
        return ServedModel(name or PRETRAINED_NAME, pretrained.mnist_classifier())
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        from nnkernels import onnx
        model = onnx.load(path)
    else:
        import nnkernels
        model = nnkernels.load(path)
    return ServedModel(name or path.stem, model)


def run(models, host="127.0.0.1", port=8000, settings=None, *, grace=8.0, threads=None,
        on_listening=None, sock=None):
    """Serve `models` until SIGTERM or SIGINT (Ctrl-C); returns when the server stopped.

    Parameters
    ----------
    models : list of ServedModel
    host, port : where to listen (port 0: any free port; `on_listening` gets it).
    settings : ServerSettings, optional
    grace : float
        Seconds in-flight requests get to finish after SIGTERM; then they are cut off.
    threads : int, optional
        Kernel threads of predict (default :func:`default_threads`).
    on_listening : callable, optional
        ``on_listening(host, port)`` once the server accepts connections.
    sock : socket.socket, optional
        A bound socket to serve on instead of host and port.

    On SIGTERM or SIGINT, readiness turns false, the server stops accepting connections,
    requests in flight get up to `grace` seconds to finish, and run returns.
    """
    _require_extra()
    import nnkernels
    server = make_server(models, host, port, settings, grace=grace,
                         on_listening=on_listening)
    with nnkernels.num_threads(threads or default_threads()):
        server.run(sockets=[sock] if sock is not None else None)


def make_server(models, host="127.0.0.1", port=8000, settings=None, *, grace=8.0,
                on_listening=None, install_signals=True):
    """The uvicorn Server of :func:`run`, not started (``server.run()`` or
    ``await server.serve()``; ``server.should_exit = True`` stops it)."""
    _require_extra()
    import contextlib
    import signal
    import threading

    import uvicorn

    from nnkernels.serve._app import create_app

    app = create_app(models, settings)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                            access_log=False, lifespan="on", timeout_graceful_shutdown=grace,
                            server_header=False)

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):
            # uvicorn's own handlers re-raise the signal after the shutdown, which ends
            # the process with the signal's status; a server stopped on purpose exits 0
            if not install_signals or threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {s: signal.signal(s, self._stop) for s in (signal.SIGTERM, signal.SIGINT)}
            try:
                yield
            finally:
                for s, handler in previous.items():
                    signal.signal(s, handler)

        def _stop(self, sig, frame):
            app.state.server.begin_shutdown()
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True  # a second Ctrl-C
            self.should_exit = True

        async def startup(self, sockets=None):
            await super().startup(sockets)
            if on_listening is not None and self.started:
                bound = self.servers[0].sockets[0].getsockname()
                on_listening(bound[0], bound[1])

    return Server(config)
