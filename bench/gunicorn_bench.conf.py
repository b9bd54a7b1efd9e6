# gunicorn settings for the benchmark: multiprocess prometheus_client bookkeeping on worker exit.
from prometheus_client import multiprocess


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
