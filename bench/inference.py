"""Inference with the shipped pretrained classifier (784-250-100-10, float32): one image
at a time and 10,000 at once, through nnkernels, onnxruntime (the same weights, exported
by nnkernels.onnx) and PyTorch (nnkernels.to_torch), each in a process of its own.

    python bench/inference.py ENGINE THREADS    # one JSON line: us_one, images_per_s

ENGINE is nnkernels, onnxruntime or torch. bench/vs_peers.py --inference runs them in
rounds beside the training peers. One image: the median over 20 repeats of 500 calls
of the time per call, the input an array already in memory; 10,000 images: the
median over 15 calls, the images uniform noise (the time does not depend on them).
Each timing follows WARM_SECONDS of the same calls.
"""
import json
import os
import statistics
import sys
import tempfile
import time

ENGINES = ("nnkernels", "onnxruntime", "torch")


# Each engine runs this long before it is timed: steady state, the way a server or
# a loop of predictions runs (onnxruntime's and PyTorch's pools started, nnkernels'
# choice among its ways to run a call measured).
WARM_SECONDS = 1.0


def _timed(fn, calls, repeats):
    start = time.perf_counter()
    while time.perf_counter() - start < WARM_SECONDS:
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def _predictor(engine, threads):
    import nnkernels
    nnkernels.set_num_threads(threads)
    model = nnkernels.pretrained.mnist_classifier()
    if engine == "nnkernels":
        return model.predict
    if engine == "onnxruntime":
        import onnxruntime
        path = os.path.join(tempfile.mkdtemp(), "classifier.onnx")
        nnkernels.onnx.export(model, path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        session = onnxruntime.InferenceSession(path, options,
                                               providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return lambda x: session.run(None, {name: x})[0]
    import torch
    torch.set_num_threads(threads)
    module = nnkernels.to_torch(model).eval()
    softmax = torch.nn.Softmax(dim=1)

    def predict(x):
        with torch.inference_mode():
            return softmax(module(torch.from_numpy(x))).numpy()
    return predict


def measure(engine, threads):
    import numpy as np
    predict = _predictor(engine, threads)
    images = np.random.default_rng(0).random((10000, 784), dtype=np.float32)
    one = images[:1].copy()
    return {"engine": engine, "threads": threads,
            "us_one": _timed(lambda: predict(one), 500, 20) * 1e6,
            "images_per_s": 10000 / _timed(lambda: predict(images), 1, 15)}


if __name__ == "__main__":
    engine, threads = sys.argv[1], int(sys.argv[2])
    if engine not in ENGINES:
        sys.exit(f"inference.py: ENGINE must be one of {', '.join(ENGINES)}; got {engine!r}")
    print(json.dumps(measure(engine, threads)), flush=True)
