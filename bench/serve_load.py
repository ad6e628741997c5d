"""nnkernels serve against the MLServer peer, in one run on one machine.

Starts ``nnkernels serve`` (the pretrained classifier) and ``../shared/peers/serve/mlserver_peer.sh``
(MLServer 1.7 with scikit-learn's MLPClassifier((250, 100)); it builds its own venv the
first time, minutes), drives both with ``../shared/peers/serve/wrk_load.py`` (wrk, a C load
generator: apt-get install wrk) at the same loads, one server right after the other,
then checks accuracy with ``load_client.py`` (tritonclient, JSON and --binary), the bad
requests of issue 22, and how long SIGTERM takes. Prints a Markdown table with the CPU
and the load average. MLServer refuses Triton's binary tensors, so its batch-32 row is
JSON.

usage: python bench/serve_load.py [--seconds 10] [--shared ../shared] [--threads N]
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOADS = [  # (batch, connections, binary)
    (1, 1, False), (1, 8, False), (32, 8, False), (32, 8, True)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, seconds=300):
    for _ in range(seconds * 5):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no server became ready on port {port}")


def wrk(peers, port, model, batch, conns, binary, seconds):
    cmd = [sys.executable, str(peers / "serve" / "wrk_load.py"), f"127.0.0.1:{port}", model,
           "--batch", str(batch), "--connections", str(conns), "--seconds", str(seconds)]
    out = subprocess.run(cmd + (["--binary"] if binary else []), capture_output=True,
                         text=True, timeout=seconds + 120)
    if out.returncode:
        raise RuntimeError(f"wrk_load.py failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def accuracy(peers, port, model, binary):
    cmd = [sys.executable, str(peers / "serve" / "load_client.py"), f"127.0.0.1:{port}", model,
           "--batch", "8", "--requests", "200"] + (["--binary"] if binary else [])
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode:
        return f"failed: {out.stderr.strip().splitlines()[-1] if out.stderr else out.returncode}"
    return json.loads(out.stdout.strip().splitlines()[-1])["accuracy"]


def raw_status(port, head, body=b"", chunk=1 << 20, total=0):
    """Status of a request sent as raw bytes, `total` more body bytes streamed after
    `body` until the server answers (it may answer before the body ends)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(head + body)
        sent, block = 0, b"\0" * chunk
        s.setblocking(False)
        answer = b""
        while True:
            try:
                answer += s.recv(65536)
                if b"\r\n" in answer:
                    break
            except BlockingIOError:
                pass
            except ConnectionError:
                break
            if sent < total:
                try:
                    sent += s.send(block)
                except (BlockingIOError, ):
                    time.sleep(0.001)
                except ConnectionError:
                    break
            else:
                time.sleep(0.001)
        return int(answer.split()[1]) if answer else None, sent


def bad_requests(port, model):
    url = f"/v2/models/{model}/infer"
    checks = {}
    x = json.dumps({"inputs": [{"name": "input", "shape": [1, 783], "datatype": "FP32",
                                "data": [0.0] * 783}]}).encode()
    malformed = b'{"inputs": [{"name": '
    for name, path, body in (("malformed", url, malformed), ("wrong shape", url, x),
                             ("unknown model", "/v2/models/nope/infer", x)):
        checks[name] = raw_status(port, b"POST %s HTTP/1.1\r\nHost: b\r\nContent-Length: %d\r\n"
                                        b"Connection: close\r\n\r\n" % (path.encode(), len(body)),
                                  body)[0]
    size = 300 * 10**6
    status, sent = raw_status(port, b"POST %s HTTP/1.1\r\nHost: b\r\nContent-Length: %d\r\n\r\n"
                                    % (url.encode(), size), total=size)
    checks[f"300 MB body ({sent / 1e6:.0f} MB sent before the answer)"] = status
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=30) as r:
        checks["then /v2/health/ready"] = r.status
    return checks


def cpu_model():
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    found = re.search(r"Model name:\s*(.+)", out)
    return found.group(1).strip() if found else "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="each wrk run (default 10)")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared",
                        help="the shared folder with peers/ and data/ (default ../shared)")
    parser.add_argument("--threads", type=int, default=None,
                        help="nnkernels serve --threads (default: its own)")
    args = parser.parse_args()
    peers = args.shared / "peers"
    env = dict(os.environ)
    env.setdefault("NNKERNELS_DATA", str(args.shared / "data"))
    env["MNIST_DIR"] = str(Path(env["NNKERNELS_DATA"]) / "mnist")
    os.environ.update(MNIST_DIR=env["MNIST_DIR"])
    ours_port, peer_port = free_port(), free_port()

    cmd = [sys.executable, "-m", "nnkernels", "serve", "--port", str(ours_port)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    ours = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL)
    peer_env = dict(env, PORT=str(peer_port))
    try:
        print("starting the MLServer peer (the first time builds its venv: minutes)...",
              file=sys.stderr, flush=True)
        subprocess.run(["bash", str(peers / "serve" / "mlserver_peer.sh"), "start"],
                       env=peer_env, check=True, timeout=1800, stdout=sys.stderr)
        wait_ready(ours_port)
        wait_ready(peer_port)
        rows = []
        for batch, conns, binary in LOADS:
            ours_r = wrk(peers, ours_port, "mnist_classifier", batch, conns, binary,
                         args.seconds)
            peer_r = None if binary else wrk(peers, peer_port, "mnist-mlp", batch, conns, False,
                                             args.seconds)
            rows.append((batch, conns, binary, ours_r, peer_r))
        acc = {("nnkernels", b): accuracy(peers, ours_port, "mnist_classifier", b)
               for b in (False, True)}
        acc[("MLServer", False)] = accuracy(peers, peer_port, "mnist-mlp", False)
        bad = bad_requests(ours_port, "mnist_classifier")
    finally:
        subprocess.run(["bash", str(peers / "serve" / "mlserver_peer.sh"), "stop"],
                       env=peer_env, timeout=60)
        t0 = time.perf_counter()
        ours.send_signal(signal.SIGTERM)
        try:
            status = ours.wait(60)
        except subprocess.TimeoutExpired:
            ours.kill()
            status = "killed after 60 s"
        stop_s = time.perf_counter() - t0

    print(f"\n{cpu_model()}; load average before the run: see `uptime` below; wrk -t1 on "
          f"the same machine, {args.seconds} s a row\n")
    print("| load | server | requests/s | images/s | p50 ms | p99 ms | non-2xx | ratio |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for batch, conns, binary, ours_r, peer_r in rows:
        load = f"batch {batch}, {conns} conn., {'binary' if binary else 'JSON'}"
        ref = peer_r or next((p for b, c, bi, _, p in rows if b == batch and c == conns and p),
                             None)
        for name, r in (("nnkernels", ours_r), ("MLServer", peer_r)):
            if r is None:
                continue
            ratio = (f"{r['images_per_s'] / ref['images_per_s']:.2f}x"
                     if name == "nnkernels" and ref else "")
            print(f"| {load} | {name} | {r['requests_per_s']:,.0f} | {r['images_per_s']:,.0f} | "
                  f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['non_2xx']} | {ratio} |")
    print("\nratio: images/s over MLServer's at the same batch and connections (MLServer: JSON)")
    print("\naccuracy through tritonclient (load_client.py, 200 requests of 8 images):")
    for (name, binary), a in acc.items():
        print(f"  {name} {'binary' if binary else 'JSON'}: {a if isinstance(a, str) else f'{a:.4f}'}")
    print("\nbad requests to nnkernels serve (HTTP status):")
    for name, status_ in bad.items():
        print(f"  {name}: {status_}")
    print(f"\nSIGTERM: exit status {status} after {stop_s:.2f} s")
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
