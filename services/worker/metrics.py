"""The worker's Prometheus metrics (served on its own port, 5002)."""

from prometheus_client import Counter, Gauge, Histogram

SUBMISSIONS = Counter(
    "worker_submissions_total",
    "Submissions handled by outcome (imported, already, rejected, retried, dead)",
    ["outcome"],
)
IMPORT_SECONDS = Histogram(
    "worker_import_duration_seconds",
    "Time to import one submission",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CONSUMER_PENDING = Gauge(
    "worker_consumer_pending", "Submissions in the stream not yet delivered to the worker"
)
