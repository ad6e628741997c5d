"""nnkernels serve over HTTP, in this process (a server thread on a free port): the Open
Inference Protocol through tritonclient (JSON and binary tensors) and plain HTTP, bad
input of every kind, /classify with a PNG, /metrics. The answers are checked against
the model's own predict and the MNIST labels; nothing depends on timing."""
import gzip
import http.client
import io
import json
import socket
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import nnkernels
from conftest import DATA_ROOT, require

require("uvicorn", 'pip install "nnkernels[serve]"')
require("starlette", 'pip install "nnkernels[serve]"')
require("prometheus_client", 'pip install "nnkernels[serve]"')

from nnkernels import serve  # noqa: E402
from nnkernels.serve import ServedModel, ServerSettings  # noqa: E402

STOP_SECONDS = 30


class ServerThread:
    """A server on 127.0.0.1, any free port, in a thread; stop() within STOP_SECONDS."""

    def __init__(self, models, settings=None):
        self.models = models
        ready, found = threading.Event(), {}

        def listening(host, port):
            found["port"] = port
            ready.set()

        self.server = serve.make_server(models, "127.0.0.1", 0, settings, grace=5,
                                        on_listening=listening, install_signals=False)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        if not ready.wait(120):
            self.stop()
            raise RuntimeError("the server did not start within 120 s")
        self.port = found["port"]
        self.url = f"127.0.0.1:{self.port}"
        self.state = self.server.config.app.state.server

    def stop(self):
        self.server.should_exit = True
        self.thread.join(STOP_SECONDS)
        assert not self.thread.is_alive(), "the server did not stop"

    def request(self, method, path, body=None, headers=None):
        """(status, headers, body bytes) of one request on a new connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def json(self, method, path, payload=None, **kw):
        data = None if payload is None else json.dumps(payload).encode()
        status, headers, content = self.request(method, path, data, **kw)
        return status, json.loads(content) if content else None


@pytest.fixture(scope="module")
def classifier():
    return nnkernels.pretrained.mnist_classifier()


@pytest.fixture(scope="module")
def server(classifier):
    srv = ServerThread([ServedModel("mnist_classifier", classifier)],
                       ServerSettings(max_body_bytes=4 * 2**20, body_timeout=2.0))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def mnist_test():
    folder = DATA_ROOT / "mnist"
    if not folder.is_dir():
        require("nnkernels_data_is_set", "NNKERNELS_DATA pointing at the data sets")
    (_, _), (x, y) = nnkernels.datasets.load_mnist(folder, download=False)
    return x[:500], y[:500]


def infer_body(x, name="input"):
    return {"inputs": [{"name": name, "shape": list(x.shape), "datatype": "FP32",
                        "data": x.ravel().tolist()}]}


# -- the protocol, plain HTTP ------------------------------------------------------------

def test_health_and_metadata(server):
    assert server.json("GET", "/v2/health/live") == (200, {"live": True})
    assert server.json("GET", "/v2/health/ready") == (200, {"ready": True})
    status, meta = server.json("GET", "/v2")
    assert status == 200 and meta["name"] == "nnkernels"
    assert "binary_tensor_data" in meta["extensions"]
    status, meta = server.json("GET", "/v2/models/mnist_classifier")
    assert status == 200
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 784]}]
    assert meta["outputs"] == [{"name": "probabilities", "datatype": "FP32",
                                "shape": [-1, 10]}]
    assert server.json("GET", "/v2/models/mnist_classifier/ready")[0] == 200
    assert server.json("GET", "/v2/models/mnist_classifier/versions/1")[0] == 200


def test_json_inference_equals_predict(server, classifier, rng):
    x = rng.random((5, 784), dtype=np.float32)
    status, answer = server.json("POST", "/v2/models/mnist_classifier/infer",
                                 {**infer_body(x), "id": "r1"})
    assert status == 200 and answer["id"] == "r1"
    out = answer["outputs"][0]
    assert out["name"] == "probabilities" and out["shape"] == [5, 10]
    np.testing.assert_allclose(np.reshape(out["data"], (5, 10)), classifier.predict(x),
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("path, words", [
    ("/v2/models/nope/infer", "unknown model 'nope'"),
    ("/v2/models/nope", "unknown model 'nope'"),
    ("/v2/models/mnist_classifier/versions/7/infer", "version '1' only"),
    ("/v2/nothing", "no such endpoint")])
def test_unknown_models_and_paths_are_404(server, path, words):
    method = "POST" if path.endswith("infer") else "GET"
    status, answer = server.json(method, path, infer_body(np.zeros((1, 784), np.float32)))
    assert status == 404 and words in answer["error"]


@pytest.mark.parametrize("payload, words", [
    (b"{not json", "not valid JSON"),
    (json.dumps(infer_body(np.zeros((1, 783), np.float32))).encode(), "[n, 784]"),
    (json.dumps({"inputs": [{"name": "input", "shape": [1, 784], "datatype": "INT64",
                             "data": [0] * 784}]}).encode(), "'datatype'"),
    (json.dumps({"inputs": [{"name": "input", "shape": [2, 784], "datatype": "FP32",
                             "data": [0] * 784}]}).encode(), "the shape needs 1568"),
    (json.dumps(infer_body(np.zeros((1, 784), np.float32), name="x")).encode(), "'input'"),
    (json.dumps(infer_body(np.full((1, 784), 1e39))).encode(), "NaN or infinite")])
def test_bad_requests_are_400_and_the_server_stays_ready(server, payload, words):
    status, _, content = server.request("POST", "/v2/models/mnist_classifier/infer", payload,
                                        {"content-type": "application/json"})
    assert status == 400 and words in json.loads(content)["error"]
    assert server.json("GET", "/v2/health/ready")[0] == 200


def _raw(server, head, body=b"", read=True):
    """Send raw bytes on a new connection; the status line and body of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
        s.sendall(head + body)
        if not read:
            return None
        data = b""
        while chunk := s.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data:
                header, _, rest = data.partition(b"\r\n\r\n")
                length = [int(line.split(b":")[1]) for line in header.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")]
                if length and len(rest) >= length[0]:
                    break
        header, _, rest = data.partition(b"\r\n\r\n")
        return int(header.split()[1]), rest


def test_a_body_over_the_limit_is_413_before_it_is_read(server):
    # 300 MB declared, not one byte sent: the answer cannot wait for the body
    status, body = _raw(server, b"POST /v2/models/mnist_classifier/infer HTTP/1.1\r\n"
                                b"Host: x\r\nContent-Type: application/json\r\n"
                                b"Content-Length: 314572800\r\n\r\n")
    assert status == 413 and "at most 4194304" in json.loads(body)["error"]
    assert server.json("GET", "/v2/health/ready")[0] == 200


def test_a_streamed_body_over_the_limit_is_413(server):
    chunk = b"x" * 65536
    head = (b"POST /v2/models/mnist_classifier/infer HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(80))  # 5 MiB
    status, body = _raw(server, head, chunks + b"0\r\n\r\n")
    assert status == 413 and "more than 4194304" in json.loads(body)["error"]
    assert server.json("GET", "/v2/health/ready")[0] == 200


def test_a_client_that_stalls_mid_body_gets_408(server):
    status, body = _raw(server, b"POST /v2/models/mnist_classifier/infer HTTP/1.1\r\n"
                                b"Host: x\r\nContent-Length: 1000\r\n\r\n", b"{\"inputs\":")
    assert status == 408 and "did not arrive within 2 s" in json.loads(body)["error"]


def test_a_client_that_vanishes_mid_body_leaves_the_server_well(server):
    for _ in range(5):
        _raw(server, b"POST /v2/models/mnist_classifier/infer HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 100000\r\n\r\n", b"{\"inputs\": [" * 100, read=False)
    assert server.json("GET", "/v2/health/ready")[0] == 200
    x = np.zeros((1, 784), np.float32)
    assert server.json("POST", "/v2/models/mnist_classifier/infer", infer_body(x))[0] == 200


# -- tritonclient ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def triton(server):
    th = require("tritonclient.http", 'pip install "tritonclient[http]" (the test extra)')
    client = th.InferenceServerClient(server.url, connection_timeout=60, network_timeout=60)
    yield th, client
    client.close()


def test_tritonclient_sees_a_live_ready_server(triton):
    th, client = triton
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("mnist_classifier")
    meta = client.get_model_metadata("mnist_classifier")
    assert meta["inputs"][0]["shape"] == [-1, 784]
    assert client.get_server_metadata()["name"] == "nnkernels"


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_tritonclient_answers_are_the_models_and_accurate(triton, classifier, mnist_test,
                                                          binary):
    th, client = triton
    x, y = mnist_test
    got = []
    for lo in range(0, len(x), 50):
        xb = np.ascontiguousarray(x[lo:lo + 50], np.float32)
        tensor = th.InferInput("input", list(xb.shape), "FP32")
        tensor.set_data_from_numpy(xb, binary_data=binary)
        result = client.infer("mnist_classifier", [tensor], outputs=[
            th.InferRequestedOutput("probabilities", binary_data=binary)])
        got.append(result.as_numpy("probabilities"))
    p = np.concatenate(got)
    np.testing.assert_allclose(p, classifier.predict(x), rtol=1e-5, atol=1e-7)
    assert (p.argmax(1) == y).mean() >= 0.97


def test_tritonclient_gets_errors_as_exceptions(triton):
    th, client = triton
    from tritonclient.utils import InferenceServerException
    tensor = th.InferInput("input", [1, 10], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 10), np.float32), binary_data=True)
    with pytest.raises(InferenceServerException, match=r"\[n, 784\]"):
        client.infer("mnist_classifier", [tensor])
    with pytest.raises(InferenceServerException, match="unknown model"):
        client.get_model_metadata("nope")


def test_concurrent_clients_get_their_own_rows(server, classifier, rng):
    """Requests sent at once (batched or not) each get the rows they sent."""
    xs = [rng.random((1 + i % 3, 784), dtype=np.float32) for i in range(24)]
    answers = [None] * len(xs)

    def send(i):
        answers[i] = server.json("POST", "/v2/models/mnist_classifier/infer",
                                 infer_body(xs[i]))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for x, (status, answer) in zip(xs, answers):
        assert status == 200
        np.testing.assert_allclose(np.reshape(answer["outputs"][0]["data"], (len(x), 10)),
                                   classifier.predict(x), rtol=1e-5, atol=1e-7)


# -- pictures ----------------------------------------------------------------------------

def _png(pixels):
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_classify_a_png_of_test_image_0_is_a_7(server):
    folder = DATA_ROOT / "mnist"
    if not folder.is_dir():
        require("nnkernels_data_is_set", "NNKERNELS_DATA pointing at the data sets")
    path = next(p for p in (folder / "t10k-images-idx3-ubyte.gz",
                            folder / "t10k-images-idx3-ubyte") if p.exists())
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    image0 = np.frombuffer(raw, np.uint8, count=784, offset=16).reshape(28, 28)
    status, _, content = server.request("POST", "/v2/models/mnist_classifier/classify",
                                        _png(image0), {"content-type": "image/png"})
    answer = json.loads(content)
    assert status == 200 and answer["label"] == 7 and not answer["inverted"]
    assert len(answer["probabilities"]) == 10
    assert answer["probabilities"][7] == max(answer["probabilities"])


@pytest.mark.parametrize("payload, words", [(b"", "empty"),
                                            ("truncated PNG", "cannot decode"),
                                            (b"plain text", "not a picture")])
def test_classify_refuses_what_is_not_a_picture(server, payload, words):
    if payload == "truncated PNG":
        payload = _png(np.full((28, 28), 9, np.uint8))[:45]  # inside IDAT
    status, _, content = server.request("POST", "/v2/models/mnist_classifier/classify",
                                        payload)
    assert status == 400 and words in json.loads(content)["error"]


# -- metrics and readiness ---------------------------------------------------------------

def test_metrics_count_requests_batches_and_queue(server):
    x = np.zeros((2, 784), np.float32)
    assert server.json("POST", "/v2/models/mnist_classifier/infer", infer_body(x))[0] == 200
    server.json("POST", "/v2/models/nope/infer", infer_body(x))
    status, headers, content = server.request("GET", "/metrics")
    text = content.decode()
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert 'nnkernels_serve_requests_total{endpoint="infer",status="200"}' in text
    assert 'nnkernels_serve_requests_total{endpoint="infer",status="404"}' in text
    assert 'nnkernels_serve_request_duration_seconds_bucket{endpoint="infer",le="+Inf"}' in text
    assert 'nnkernels_serve_batch_rows_count{model="mnist_classifier"}' in text
    assert 'nnkernels_serve_queue_rows{model="mnist_classifier"} 0.0' in text
    assert "nnkernels_serve_requests_in_progress 0.0" in text


def test_not_ready_while_shutting_down(classifier):
    srv = ServerThread([ServedModel("m", classifier)])
    try:
        assert srv.json("GET", "/v2/health/ready")[0] == 200
        srv.state.begin_shutdown()  # what SIGTERM does first
        assert srv.json("GET", "/v2/health/ready") == (503, {"ready": False})
        assert srv.json("GET", "/v2/models/m/ready")[0] == 503
        assert srv.json("GET", "/v2/health/live")[0] == 200
        status, answer = srv.json("POST", "/v2/models/m/infer",
                                  infer_body(np.zeros((1, 784), np.float32)))
        assert status == 503 and "not ready" in answer["error"]
    finally:
        srv.stop()


def test_a_full_queue_is_503(classifier):
    """max_queue 1 row: a request of 2 rows is 413 (it could never fit); with the
    worker held, a second request finds the queue full."""
    gate, entered = threading.Event(), threading.Event()

    class Held:
        in_features, out_features, dtype = 784, 10, np.dtype(np.float32)
        loss = classifier.loss

        def predict(self, x):
            if len(x) == 1 and x[0, 0] == 1:  # the request that holds the worker
                entered.set()
                gate.wait(60)
            return classifier.predict(x)

    srv = ServerThread([ServedModel("m", Held())], ServerSettings(max_queue=1, max_wait=0))
    results, threads = {}, []
    try:
        x = np.zeros((1, 784), np.float32)
        assert srv.json("POST", "/v2/models/m/infer", infer_body(np.zeros((2, 784))))[0] == 413
        held = x.copy()
        held[0, 0] = 1
        holder = threading.Thread(target=lambda: results.setdefault(
            "held", srv.json("POST", "/v2/models/m/infer", infer_body(held))))
        threads.append(holder)
        holder.start()
        assert entered.wait(60)
        queued = threading.Thread(target=lambda: results.setdefault(
            "queued", srv.json("POST", "/v2/models/m/infer", infer_body(x))))
        threads.append(queued)
        queued.start()
        # the queue holds the second request once the gauge says so (polled, no timing)
        for _ in range(600):
            if b'nnkernels_serve_queue_rows{model="m"} 1.0' in srv.request("GET", "/metrics")[2]:
                break
            threading.Event().wait(0.05)
        status, answer = srv.json("POST", "/v2/models/m/infer", infer_body(x))
        assert status == 503 and "busy" in answer["error"]
    finally:
        gate.set()
        for t in threads:
            t.join(60)
        srv.stop()
    assert results["held"][0] == 200 and results["queued"][0] == 200


# -- fuzzing the JSON request through the server -----------------------------------------

def _pixels(n, value, i, odd):
    data = [value] * n
    data[i] = odd
    return data


FIELDS = st.one_of(st.none(), st.booleans(), st.integers(-2, 800), st.text(max_size=4),
                   st.lists(st.integers(-1, 800), max_size=3))


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["input", "input-0"]) | FIELDS,
       shape=st.sampled_from([[1, 784], [2, 784], [1, 783]]) | FIELDS,
       datatype=st.sampled_from(["FP32", "FP64", "INT8"]) | FIELDS,
       data=st.builds(_pixels, st.sampled_from([784, 783, 785, 1568]),
                      st.floats(0, 1, width=32), st.integers(0, 782),
                      st.floats(width=32) | st.integers() | st.text(max_size=2) | st.none())
       | FIELDS,
       mangle=st.sampled_from([None, "truncate", "garbage"]))
def test_fuzzed_json_requests_get_200_or_400(server, name, shape, datatype, data, mangle):
    body = json.dumps({"inputs": [{"name": name, "shape": shape, "datatype": datatype,
                                   "data": data}]}).encode()
    if mangle == "truncate":
        body = body[:len(body) // 2]
    elif mangle == "garbage":
        body = body.replace(b'"', b"'", 1)
    status, _, content = server.request("POST", "/v2/models/mnist_classifier/infer", body)
    answer = json.loads(content)
    assert status in (200, 400), answer
    assert ("outputs" in answer) if status == 200 else answer["error"]


def test_a_failing_model_is_500_and_the_server_stays_up(classifier):
    class Failing:
        in_features, out_features, dtype = 784, 10, np.dtype(np.float32)
        loss = classifier.loss

        def predict(self, x):
            if x.any():
                raise FloatingPointError("the model broke")
            return classifier.predict(x)

    srv = ServerThread([ServedModel("m", Failing())])
    try:
        status, answer = srv.json("POST", "/v2/models/m/infer",
                                  infer_body(np.ones((1, 784), np.float32)))
        assert status == 500 and "FloatingPointError: the model broke" in answer["error"]
        assert srv.json("GET", "/v2/health/ready")[0] == 200
        assert srv.json("POST", "/v2/models/m/infer",
                        infer_body(np.zeros((1, 784), np.float32)))[0] == 200
    finally:
        srv.stop()
