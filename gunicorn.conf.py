"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Production runs two instances of this file (docs/deploy.md): one with
OPENMENTOR_WORKER_CLASS=gthread for pages and htmx polls, and one with the default gevent
worker for the /ws/notifications websockets, which nginx routes to it. A single gevent
instance serves both on a small site. Measured on 2 cores (bench/RESULTS.md):
- a gthread worker spends a thread per websocket: with 8 threads it held 7 idle sockets,
  then timed out plain GETs; one gevent worker held 500 at about 52 KiB each and answered
  a bare GET in about 1 ms;
- for the room's timer poll, gthread (2 workers x 8 threads) served 168 requests/s on SQLite
  and 80 on PostgreSQL, gevent (2 workers) 90 and 55, with a far worse p99.
"""

import os
import signal

bind = os.environ.get("OPENMENTOR_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("OPENMENTOR_WORKER_CLASS", "gevent")
# Threads per gthread worker (the gevent worker ignores it); the database pool below is larger.
threads = int(os.environ.get("OPENMENTOR_THREADS", "8"))
# Open connections per worker, websockets included.
worker_connections = int(os.environ.get("OPENMENTOR_WORKER_CONNECTIONS", "1000"))
timeout = 30
# Websockets close with code 1001 at SIGTERM (below), so this only bounds slow requests.
graceful_timeout = int(os.environ.get("OPENMENTOR_GRACEFUL_TIMEOUT", "10"))
keepalive = 5
# gunicorn 25.1 and later open a control socket in the home folder by default, and a second
# instance takes it over; nothing here needs it.
control_socket_disable = True
# An empty OPENMENTOR_ACCESS_LOG turns the access log off (the benchmarks do).
accesslog = os.environ.get("OPENMENTOR_ACCESS_LOG", "-") or None
errorlog = "-"
# The app is loaded in each worker after gevent patched the standard library, so psycopg
# and the hub thread see the patched modules.
preload_app = False

# The database pool must cover the requests a worker runs at once: a pool smaller than
# the concurrency reconnects under load. Each socket returns its connection after every
# query, so sockets need no connection while idle.
os.environ.setdefault(
    "OPENMENTOR_SQLALCHEMY_ENGINE_OPTIONS",
    '{"pool_size": 20, "max_overflow": 10, "pool_timeout": 10, "pool_pre_ping": true}',
)


def post_worker_init(worker):
    """Close the worker's websockets with code 1001 when it receives SIGTERM."""
    from webapp.notifications.hub import close_sockets

    def handle_sigterm(signum, frame):
        # gunicorn's own handler only stops accepting; an open socket would otherwise keep
        # the worker busy until graceful_timeout ends and it is killed.
        worker.handle_exit(signum, frame)
        close_sockets(worker.wsgi)

    signal.signal(signal.SIGTERM, handle_sigterm)
