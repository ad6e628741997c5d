"""The Open Inference Protocol app (Starlette, an ASGI toolkit): routes, reading bodies
within limits, errors as ``{"error": ...}``, metrics and readiness."""
import asyncio
import concurrent.futures
import json
import logging
import time

import numpy as np

from nnkernels.serve._batcher import Batcher, Closed, QueueFull
from nnkernels.serve._metrics import Metrics
from nnkernels.serve._protocol import (HEADER_LENGTH, ModelSpec, ProtocolError,
                                       decode_infer_request, encode_infer_response,
                                       error_body)

__all__ = ["ServedModel", "ServerSettings", "create_app"]

PLATFORM = "nnkernels"
HEADER_LENGTH_BYTES = HEADER_LENGTH.encode()


class ServerSettings:
    """The limits and batching of a server (see ``nnkernels serve --help``).

    Parameters
    ----------
    max_batch : int, default 64
        Most rows in one predict call.
    max_wait : float, default 0.002
        Seconds a batch may wait for requests still being read.
    max_queue : int, default 1024
        Most rows waiting for predict (per model); beyond, 503.
    max_body_bytes : int, default 32 MiB
        Largest request body; beyond, 413 (before the body is read when the
        Content-Length says so).
    body_timeout : float, default 30
        Seconds a client may take to send a body; beyond, 408.
    """

    def __init__(self, max_batch=64, max_wait=0.002, max_queue=1024,
                 max_body_bytes=32 * 2**20, body_timeout=30.0):
        self.max_batch, self.max_wait, self.max_queue = max_batch, max_wait, max_queue
        self.max_body_bytes, self.body_timeout = max_body_bytes, body_timeout


class ServedModel:
    """A model under a name: its protocol description (``spec``), its kind
    ('classifier' or 'other': /classify needs a classifier of 784 pixels) and the model
    (anything with ``predict``, ``in_features``, ``out_features`` and ``dtype``)."""

    def __init__(self, name, model):
        self.name, self.model = name, model
        classifier = getattr(getattr(model, "loss", None), "target_kind", None) == "labels"
        self.classifier = classifier and model.in_features == 28 * 28
        self.spec = ModelSpec(name, model.in_features, model.out_features, model.dtype,
                              output_name="probabilities" if classifier else "output")
        self.batcher = None


def _json(status, payload, headers=None):
    from starlette.responses import Response
    return Response(json.dumps(payload).encode(), status, headers,
                    media_type="application/json")


def _error(status, message, close=False):
    from starlette.responses import Response
    headers = {"connection": "close"} if close else None
    return Response(error_body(message), status, headers, media_type="application/json")


class _State:
    """What the routes share: the models, settings, metrics, readiness."""

    def __init__(self, models, settings):
        self.models = {m.name: m for m in models}
        self.settings = settings
        self.metrics = Metrics()
        self.ready = False
        self.executor = None
        self.decoder = None


def create_app(models, settings=None):
    """The ASGI app serving `models` (a list of ServedModel) with `settings`.

    Its lifespan starts the predict worker (one thread) and warms each model up (one
    predict call) before readiness turns true; ``app.state.server.begin_shutdown()``
    turns readiness false; the lifespan's end lets queued requests finish.
    """
    import contextlib

    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.responses import Response
    from starlette.routing import Route

    settings = settings or ServerSettings()
    state = _State(models, settings)

    def timed(endpoint):
        """The route wrapped: ProtocolError -> its status, timing and counting."""
        async def route(request):
            start = time.perf_counter()
            try:
                response = await endpoint(request)
            except ProtocolError as error:
                response = _error(error.status, error.message,
                                  close=error.status in (408, 413))
            state.metrics.observe(endpoint.__name__, response.status_code,
                                  time.perf_counter() - start)
            return response
        route.__name__ = endpoint.__name__
        return route

    def model_of(request):
        return find_model(request.path_params["name"], request.path_params.get("version"))

    def find_model(name, version=None):
        model = state.models.get(name)
        if model is None:
            raise ProtocolError(404, f"unknown model {name!r}; this server has "
                                     f"{', '.join(repr(n) for n in state.models)}")
        if version is not None and version != model.spec.version:
            raise ProtocolError(404, f"model {name!r} has version {model.spec.version!r} "
                                     f"only; got {version!r}")
        return model

    async def read_body(headers, receive):
        """The body, at most max_body_bytes: 413 before reading when the Content-Length
        says more, or as soon as a streamed body goes beyond; 408 if the client stalls;
        400 if it goes away. `headers`: the ASGI scope's (name, value) byte pairs."""
        limit = settings.max_body_bytes
        for key, value in headers:
            if key == b"content-length":
                if not value.isdigit():
                    raise ProtocolError(400, f"Content-Length must be a number; got "
                                             f"{value.decode('latin-1')!r}")
                if int(value) > limit:
                    raise ProtocolError(413, f"the body has {int(value)} bytes; this server "
                                             f"takes at most {limit}")
        chunks, total = [], 0
        try:
            async with asyncio.timeout(settings.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":  # http.disconnect
                        raise ProtocolError(400, "the client went away before the body "
                                                 "ended")
                    chunk = message.get("body", b"")
                    total += len(chunk)
                    if total > limit:
                        raise ProtocolError(413, f"the body has more than {limit} bytes; "
                                                 f"this server takes at most {limit}")
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            raise ProtocolError(408, f"the body did not arrive within "
                                     f"{settings.body_timeout:g} s") from None
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def run_batch(model, x, arrival):
        try:
            return await model.batcher.predict(x, arrival)
        except QueueFull as error:
            raise ProtocolError(503, f"model {model.name!r} is busy: {error}") from None
        except Closed as error:
            raise ProtocolError(503, str(error)) from None

    async def infer(scope, receive, send, name, version):
        """POST /v2/models/{name}[/versions/{version}]/infer, on ASGI directly: the hot
        path skips Starlette's request objects, routing and middleware (measured: a
        trivial app answers 12-18 % more requests on bare ASGI; docs/serving.md)."""
        start = time.perf_counter()
        headers = scope["headers"]
        try:
            model = find_model(name, version)
            if not state.ready:
                raise ProtocolError(503, "the server is not ready")
            state.metrics.in_progress.inc()
            try:
                with model.batcher.arrive() as arrival:
                    body = await read_body(headers, receive)
                    header_length = None
                    for key, value in headers:
                        if key == HEADER_LENGTH_BYTES:
                            header_length = value.decode("latin-1")
                    decoded = decode_infer_request(body, model.spec, header_length,
                                                   max_rows=settings.max_queue)
                    y = await run_batch(model, decoded.x, arrival)
                content, extra = encode_infer_response(model.spec, decoded, y)
                status = 200
                out_headers = [(k.encode(), v.encode()) for k, v in extra.items()]
            finally:
                state.metrics.in_progress.dec()
        except ProtocolError as error:
            status, content = error.status, error_body(error.message)
            out_headers = [(b"content-type", b"application/json")]
            if status in (408, 413):  # the rest of the body is not read: close
                out_headers.append((b"connection", b"close"))
        except Exception as error:  # noqa: BLE001 - a bug, or the model failed
            logging.getLogger("nnkernels.serve").exception("inference failed")
            status = 500
            content = error_body(f"internal error: {type(error).__name__}: {error}")
            out_headers = [(b"content-type", b"application/json")]
        out_headers.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": content})
        state.metrics.observe("infer", status, time.perf_counter() - start)

    async def classify(request):
        from nnkernels.datasets import DatasetError, decode_picture
        model = model_of(request)
        if not state.ready:
            raise ProtocolError(503, "the server is not ready")
        if not model.classifier:
            raise ProtocolError(400, f"model {model.name!r} is not a classifier of 28x28 "
                                     "pictures; /classify needs one")
        state.metrics.in_progress.inc()
        try:
            with model.batcher.arrive() as arrival:
                body = await read_body(request.scope["headers"], request.receive)
                if not body:
                    raise ProtocolError(400, "the body is empty; send a PNG or JPEG picture")
                loop = asyncio.get_running_loop()
                try:  # Pillow decodes off the event loop, one picture at a time
                    pixels, inverted = await loop.run_in_executor(
                        state.decoder, decode_picture, body, "the picture")
                except DatasetError as error:
                    raise ProtocolError(400, str(error)) from None
                y = await run_batch(model, pixels.reshape(1, -1).astype(model.spec.dtype),
                                    arrival)
            p = y[0]
            return _json(200, {"model_name": model.name, "label": int(np.argmax(p)),
                               "probabilities": [float(v) for v in p],
                               "inverted": inverted})
        finally:
            state.metrics.in_progress.dec()

    async def live(request):
        return _json(200, {"live": True})

    async def ready(request):
        return _json(200 if state.ready else 503, {"ready": state.ready})

    async def server_metadata(request):
        from nnkernels import __version__
        return _json(200, {"name": PLATFORM, "version": __version__,
                           "extensions": ["binary_tensor_data", "classify"]})

    async def model_metadata(request):
        return _json(200, model_of(request).spec.metadata(PLATFORM))

    async def model_ready(request):
        model_of(request)
        return _json(200 if state.ready else 503, {"name": request.path_params["name"],
                                                   "ready": state.ready})

    async def metrics(request):
        body, content_type = state.metrics.exposition()
        return Response(body, 200, media_type=content_type)

    async def not_found(request, exc):
        status = getattr(exc, "status_code", 404)
        what = {404: "no such endpoint", 405: "method not allowed"}.get(status, "error")
        return _error(status, f"{what}: {request.method} {request.url.path}")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        state.executor = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="nnkernels-predict")
        state.decoder = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="nnkernels-decode")
        loop = asyncio.get_running_loop()
        for model in state.models.values():
            model.batcher = Batcher(model.model.predict, state.executor,
                                    max_batch=settings.max_batch, max_wait=settings.max_wait,
                                    max_queue=settings.max_queue)
            model.batcher._on_batch = state.metrics.watch_queue(model.name, model.batcher)
            warm = np.zeros((1, model.spec.in_features), model.spec.dtype)
            await loop.run_in_executor(state.executor, model.model.predict, warm)
        state.ready = True
        try:
            yield
        finally:
            state.ready = False
            for model in state.models.values():
                await model.batcher.close()
            state.executor.shutdown(wait=True)
            state.decoder.shutdown(wait=True)

    def begin_shutdown():
        state.ready = False

    v = "/v2/models/{name}"
    routes = [
        Route("/v2/health/live", timed(live)),
        Route("/v2/health/ready", timed(ready)),
        Route("/v2", timed(server_metadata)),
        Route(v, timed(model_metadata)),
        Route(v + "/versions/{version}", timed(model_metadata)),
        Route(v + "/ready", timed(model_ready)),
        Route(v + "/versions/{version}/ready", timed(model_ready)),
        Route(v + "/classify", timed(classify), methods=["POST"]),
        Route("/metrics", metrics),
    ]
    routed = Starlette(routes=routes, lifespan=lifespan,
                       exception_handlers={HTTPException: not_found})

    async def app(scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST":
            parts = scope["path"].split("/")
            # /v2/models/NAME/infer, /v2/models/NAME/versions/V/infer
            if len(parts) in (5, 7) and parts[-1] == "infer" and parts[1:3] == ["v2", "models"] \
                    and (len(parts) == 5 or parts[4] == "versions") and parts[3]:
                await infer(scope, receive, send, parts[3],
                            parts[5] if len(parts) == 7 else None)
                return
        await routed(scope, receive, send)

    state.begin_shutdown = begin_shutdown
    app.state = routed.state
    app.state.server = state
    return app
