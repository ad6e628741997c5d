"""``nnkernels serve`` as a command: model files of every format it loads, command-line
errors, and SIGTERM (readiness off, the request in flight finishes, exit status 0).
Servers listen on a free port (port 0) and are always stopped, within bounded waits."""
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import nnkernels
from conftest import PACKAGE_PARENT, require, run_cli

require("uvicorn", 'pip install "nnkernels[serve]"')
require("starlette", 'pip install "nnkernels[serve]"')
require("prometheus_client", 'pip install "nnkernels[serve]"')

from nnkernels import serve  # noqa: E402
from test_serve import ServerThread, infer_body  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def _served_answers_predict(path, name):
    model = serve.load_served_model(path)
    assert model.name == name
    srv = ServerThread([model])
    try:
        n = model.spec.in_features
        status, meta = srv.json("GET", f"/v2/models/{name}")
        assert status == 200 and meta["inputs"][0]["shape"] == [-1, n]
        x = np.random.default_rng(0).random((3, n), dtype=np.float32)
        status, answer = srv.json("POST", f"/v2/models/{name}/infer", infer_body(x))
        assert status == 200
        got = np.reshape(answer["outputs"][0]["data"], answer["outputs"][0]["shape"])
        np.testing.assert_allclose(got, model.model.predict(x), rtol=1e-5, atol=1e-6)
    finally:
        srv.stop()


def test_serves_a_legacy_nnk_file():
    _served_answers_predict(FIXTURES / "legacy" / "classifier-small.nnk", "classifier-small")


def test_serves_an_onnx_file():
    require("onnx", 'pip install "nnkernels[onnx]"')
    _served_answers_predict(FIXTURES / "onnx" / "skl2onnx_mlp.onnx", "skl2onnx_mlp")


def test_serves_a_safetensors_file(tmp_path):
    path = tmp_path / "digits.safetensors"
    nnkernels.save(nnkernels.pretrained.mnist_classifier(), path)
    _served_answers_predict(path, "digits")


@pytest.mark.parametrize("argv, status, words", [
    (["serve", "missing.safetensors"], 1, "missing.safetensors: no such model file"),
    (["serve", "--port", "70000"], 2, "port from 0 to 65535"),
    (["serve", "--name", "a", "--name", "b"], 2, "once per MODEL"),
    (["serve", "--max-batch", "0"], 2, "--max-batch"),
    (["serve", str(FIXTURES / "legacy" / "classifier-small.nnk"),
      str(FIXTURES / "legacy" / "classifier-small.nnk")], 2, "two models are named"),
])
def test_command_line_errors(capsys, argv, status, words):
    code, _, err = run_cli(capsys, *argv)
    assert code == status and words in err


class Process:
    """``python -m nnkernels serve ARGS --port 0``, its port read from its stderr."""

    def __init__(self, *args):
        env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nnkernels", "serve", *args, "--port", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=env, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.port = None
        while self.port is None:
            line = self.lines.get(timeout=120)
            if line is None:
                raise AssertionError(f"the server ended: {self.proc.wait(30)}")
            found = re.search(r"on http://127\.0\.0\.1:(\d+)", line)
            self.port = int(found.group(1)) if found else None

    def _read(self):
        for line in self.proc.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def stderr(self):
        out = []
        while (line := self.lines.get(timeout=30)) is not None:
            out.append(line)
        return "".join(out)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)


def _get(port, path):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_sigterm_lets_the_request_in_flight_finish_then_exits_0():
    server = Process("--grace", "8")
    try:
        x = np.zeros((1, 784), np.float32)
        body = json.dumps(infer_body(x)).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
            s.sendall(b"POST /v2/models/mnist_classifier/infer HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body[:100])
            # in flight once the server counts it (polled: no timing involved)
            for _ in range(1200):
                if b"nnkernels_serve_requests_in_progress 1.0" in _get(server.port,
                                                                       "/metrics")[1]:
                    break
                threading.Event().wait(0.05)
            else:
                raise AssertionError("the request never showed as in progress")
            server.proc.send_signal(signal.SIGTERM)
            s.sendall(body[100:])
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        assert b'"name":"probabilities"' in answer
        assert server.proc.wait(60) == 0
        assert "nnkernels serve: stopped" in server.stderr()
    finally:
        server.kill()


def test_sigterm_on_an_idle_server_exits_0():
    server = Process()
    try:
        assert _get(server.port, "/v2/health/ready")[0] == 200
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(60) == 0
    finally:
        server.kill()
