"""Prometheus metrics under fpindex's names, so its dashboards and alerts work unchanged.

Search and update counters are incremented where they happen; everything the store already
counts (segments, docs, checkpoints, merges, version) is read at scrape time by a collector,
so there is one source of truth for each number.
"""

from __future__ import annotations

import shutil
import weakref
from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.index.store import Store

SEARCHES = Counter("fpindex_searches_total", "Searches answered")
SEARCH_HITS = Counter("fpindex_search_hits_total", "Searches that found at least one document")
SEARCH_MISSES = Counter("fpindex_search_misses_total", "Searches that found nothing")
SEARCH_TIMEOUTS = Counter("fpindex_search_timeouts_total", "Searches cut off by their timeout")
UPDATES = Counter("fpindex_updates_total", "Changes applied from the FPINDEX stream")
REPLICATION_ERRORS = Counter(
    "fpindex_replication_errors_total", "Consumer restarts and undecodable FPINDEX messages"
)
REPLICATION_GAPS = Counter(
    "fpindex_replication_gaps_total", "Starts that found FPINDEX trimmed past the applied version"
)
LOG_FLOOR = Gauge(
    "fpindex_log_purged_through",
    "Highest FPINDEX sequence of this shard purged because every replica checkpointed it",
)
SEARCH_DURATION = Histogram(
    "fpindex_search_duration_seconds",
    "Time spent in the search kernel",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5),
)
SCANNED_DOCS_PER_HASH = Histogram(
    "fpindex_scanned_docs_per_hash",
    "Postings visited per query term",
    buckets=(1, 5, 10, 50, 100, 500, 1000),
)


class StoreCollector(Collector):
    """Reads the live stores at scrape time (one per app; tests build several)."""

    def __init__(self) -> None:
        self.stores: weakref.WeakValueDictionary[str, Store] = weakref.WeakValueDictionary()

    def collect(self) -> Iterator[Metric]:
        gauges = {
            "fpindex_docs": ("Document entries over all segments", lambda st: st.num_docs),
            "fpindex_segments": ("Live segments", lambda st: st.num_segments),
            "fpindex_postings": ("Postings over all segments", lambda st: st.num_postings),
            "fpindex_segment_bytes": ("Bytes of file segments", lambda st: st.file_bytes),
        }
        stores = list(self.stores.items())
        for name, (doc, get) in gauges.items():
            family = GaugeMetricFamily(name, doc, labels=["index"])
            for index, store in stores:
                family.add_metric([index], get(store.stats()))
            yield family
        version = GaugeMetricFamily("fpindex_version", "Last applied version", labels=["index"])
        for index, store in stores:
            version.add_metric([index], store.version)
        yield version
        # The disk alert's input: the index is the service whose files grow with the data.
        free = GaugeMetricFamily(
            "fpindex_disk_free_ratio", "Free share of the data directory's disk", labels=["index"]
        )
        for index, store in stores:
            usage = shutil.disk_usage(store.directory)
            free.add_metric([index], usage.free / usage.total)
        yield free
        for counter in ("checkpoints", "memory_merges", "file_merges"):
            total = CounterMetricFamily(
                f"fpindex_{counter}", counter.replace("_", " "), labels=["index"]
            )
            for index, store in stores:
                total.add_metric([index], store.counters[counter])
            yield total


COLLECTOR = StoreCollector()
REGISTRY.register(COLLECTOR)
