"""Production gunicorn settings:  gunicorn -c gunicorn.conf.py wsgi:app

Behind a buffering reverse proxy (nginx or the province's load balancer) that terminates TLS
and absorbs slow phones on 3G: the workers then only ever talk to a fast local client, which is
what synchronous workers need. Measured with bench/load.py (see README, "Production").

- Synchronous workers, 2 per core: a citizen's request is CPU work plus a few short database
  and Redis round trips; one more worker per core covers those waits. More workers than that
  only fight over the cores (bench/load.py on 2 cores shared with PostgreSQL and the load:
  2 workers 509 submissions/s, 3: 682, 4: 699, 5: 535, medians of three 10-s runs), fewer leave a
  core idle while one waits on the database. Threads (gthread) gave no more throughput and a
  worse tail: a slow request holds the GIL from its siblings.
- preload_app: the app is imported once in the master and forked, so workers boot in
  milliseconds and share memory pages; gc.freeze() then keeps the garbage collector away from
  the tens of thousands of long-lived objects imported at start (Flask, SQLAlchemy, NumPy), which
  would otherwise be rescanned by every full collection in every worker.
- max_requests with jitter: a worker is replaced now and then, so a slow leak cannot grow.
Everything can be overridden on the command line or with GUNICORN_CMD_ARGS; the worker count
also with WEB_CONCURRENCY.
"""
import gc
import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
worker_class = "sync"
threads = 1
preload_app = True
max_requests = 20000
max_requests_jitter = 2000
timeout = 30
graceful_timeout = 20
# The proxy sets X-Forwarded-Proto; only trust it from the proxy on this host.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("ACCESS_LOG")  # unset: no access log (the proxy keeps one)


def when_ready(server):  # in the master, after the app is loaded and before any worker forks
    gc.collect()
    gc.freeze()
