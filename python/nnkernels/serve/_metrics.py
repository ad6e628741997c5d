"""Prometheus metrics of a server (prometheus_client), in a registry of its own so that
several servers in one process (tests) do not share counters."""

__all__ = ["Metrics"]

#: Latency buckets, seconds: a batch-1 answer takes ~1 ms, a loaded queue tens of ms.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0,
                   5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class Metrics:
    """The server's counters, histograms and gauges.

    - ``nnkernels_serve_requests_total{endpoint, status}``
    - ``nnkernels_serve_request_duration_seconds{endpoint}`` (histogram)
    - ``nnkernels_serve_requests_in_progress`` (inference and classification requests)
    - ``nnkernels_serve_batch_rows{model}`` (histogram of the rows of each predict call)
    - ``nnkernels_serve_queue_rows{model}`` (rows waiting for the worker)
    """

    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("nnkernels_serve_requests", "HTTP requests answered",
                                ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("nnkernels_serve_request_duration_seconds",
                                 "Time from the request's start to its answer",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.in_progress = Gauge("nnkernels_serve_requests_in_progress",
                                 "Inference and classification requests being served",
                                 registry=self.registry)
        self.batch_rows = Histogram("nnkernels_serve_batch_rows", "Rows in one predict call",
                                    ["model"], buckets=BATCH_BUCKETS, registry=self.registry)
        self.queue_rows = Gauge("nnkernels_serve_queue_rows", "Rows waiting for predict",
                                ["model"], registry=self.registry)
        self._children = {}

    def observe(self, endpoint, status, seconds):
        key = (endpoint, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = (self.requests.labels(endpoint, str(status)),
                                           self.latency.labels(endpoint))
        child[0].inc()
        child[1].observe(seconds)

    def watch_queue(self, model, batcher):
        self.queue_rows.labels(model).set_function(lambda: batcher.queued_rows)
        return self.batch_rows.labels(model).observe

    def exposition(self):
        """(body, content type) of the /metrics answer."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
