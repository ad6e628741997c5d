"""The Open Inference Protocol app (Starlette, an ASGI toolkit): routes, reading bodies
within limits, errors as ``{"error": ...}``, metrics and readiness."""
import asyncio
import concurrent.futures
import json
import time

import numpy as np

from nnkernels.serve._batcher import Batcher, Closed, QueueFull
from nnkernels.serve._metrics import Metrics
from nnkernels.serve._protocol import (HEADER_LENGTH, ModelSpec, ProtocolError,
                                       decode_infer_request, encode_infer_response,
                                       error_body)

__all__ = ["ServedModel", "ServerSettings", "create_app"]

PLATFORM = "nnkernels"


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
                response = _error(error.status, error.message, close=error.status == 413)
            state.metrics.observe(endpoint.__name__, response.status_code,
                                  time.perf_counter() - start)
            return response
        route.__name__ = endpoint.__name__
        return route

    def model_of(request):
        name = request.path_params["name"]
        model = state.models.get(name)
        if model is None:
            raise ProtocolError(404, f"unknown model {name!r}; this server has "
                                     f"{', '.join(repr(n) for n in state.models)}")
        version = request.path_params.get("version")
        if version is not None and version != model.spec.version:
            raise ProtocolError(404, f"model {name!r} has version {model.spec.version!r} "
                                     f"only; got {version!r}")
        return model

    async def read_body(request):
        """The body, at most max_body_bytes: 413 before reading when the Content-Length
        says more, or as soon as a streamed body goes beyond; 408 if the client stalls."""
        limit = settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise ProtocolError(400, f"Content-Length must be a number; got {declared!r}")
            if int(declared) > limit:
                raise ProtocolError(413, f"the body has {declared} bytes; this server takes "
                                         f"at most {limit}")
        from starlette.requests import ClientDisconnect
        chunks, total = [], 0
        try:
            async with asyncio.timeout(settings.body_timeout):
                async for chunk in request.stream():
                    total += len(chunk)
                    if total > limit:
                        raise ProtocolError(413, f"the body has more than {limit} bytes; "
                                                 f"this server takes at most {limit}")
                    chunks.append(chunk)
        except TimeoutError:
            raise ProtocolError(408, f"the body did not arrive within "
                                     f"{settings.body_timeout:g} s") from None
        except ClientDisconnect:
            raise ProtocolError(400, "the client went away before the body ended") from None
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def run_batch(model, x, arrival):
        try:
            return await model.batcher.predict(x, arrival)
        except QueueFull as error:
            raise ProtocolError(503, f"model {model.name!r} is busy: {error}") from None
        except Closed as error:
            raise ProtocolError(503, str(error)) from None

    async def infer(request):
        model = model_of(request)
        if not state.ready:
            raise ProtocolError(503, "the server is not ready")
        state.metrics.in_progress.inc()
        try:
            with model.batcher.arrive() as arrival:
                body = await read_body(request)
                decoded = decode_infer_request(body, model.spec,
                                               request.headers.get(HEADER_LENGTH),
                                               max_rows=settings.max_queue)
                y = await run_batch(model, decoded.x, arrival)
            content, headers = encode_infer_response(model.spec, decoded, y)
            return Response(content, 200, headers)
        finally:
            state.metrics.in_progress.dec()

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
                body = await read_body(request)
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
        Route(v + "/infer", timed(infer), methods=["POST"]),
        Route(v + "/versions/{version}/infer", timed(infer), methods=["POST"]),
        Route(v + "/classify", timed(classify), methods=["POST"]),
        Route("/metrics", metrics),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: not_found})
    state.begin_shutdown = begin_shutdown
    app.state.server = state
    return app
