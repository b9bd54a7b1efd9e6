# The gunicorn competitor: the same hello world as a WSGI app, instrumented the way
# gunicorn + prometheus_client users do it (multiprocess mode, a counter and a histogram).
#   PROMETHEUS_MULTIPROC_DIR=... gunicorn -w N -c bench/gunicorn_bench.conf.py wsgi_hello:app
import time
from prometheus_client import Counter, Histogram

REQUESTS = Counter("http_requests_total", "Requests.", ["method", "status"])
DURATION = Histogram("http_request_duration_seconds", "Latency.", buckets=[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5])


def app(environ, start_response):
    start = time.perf_counter()
    body = b"Hello, world\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    REQUESTS.labels(environ["REQUEST_METHOD"], "200").inc()
    DURATION.observe(time.perf_counter() - start)
    return [body]
