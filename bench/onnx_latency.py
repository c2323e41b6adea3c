"""fastmlp's predict beside onnxruntime running the same network exported with fastmlp.to_onnx.

Usage: ``python -m bench.onnx_latency [--rounds 5] [--calls 2000] [--rows 100000] [--threads 1]``

W2's network (784-256-128-10, relu, softmax, float32; ``bench/workloads.py``). P1: one-row latency, the median
of ``--calls`` single calls per round. P2: throughput predicting ``--rows`` rows in one call, rows/s, the median of
three calls per round. The rounds alternate which library goes first, so that drifts in the machine's speed (turbo, a
neighbour's load) fall on both. The table gives the median over rounds and the spread (lowest to highest round).
Both libraries get the same thread count: fastmlp's BLAS pools (``fastmlp.set_num_threads``) and onnxruntime's
intra-op pool; 1 by default, so that the figures compare the code and not the cores.
"""

import argparse
import statistics
import sys
import time


def _latency(predict, calls):
    clock = time.perf_counter
    times = []
    for _ in range(calls):
        start = clock()
        predict()
        times.append(clock() - start)
    return statistics.median(times) * 1e6


def _throughput(predict, rows, calls=3):
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        predict()
        times.append(time.perf_counter() - start)
    return rows / statistics.median(times)


def _spread(values, fmt):
    return f"{fmt.format(min(values))} – {fmt.format(max(values))}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000, help="one-row calls per round and library")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the throughput call")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    import numpy as np
    import onnxruntime as ort

    import fastmlp as fm

    fm.set_num_threads(args.threads)
    model = fm.Model([784, 256, 128, 10], hidden="relu", output="softmax", dtype="float32", seed=0)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(fm.to_onnx(model).SerializeToString(), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    one = rng.normal(size=(1, 784)).astype(np.float32)
    many = rng.normal(size=(args.rows, 784)).astype(np.float32)

    predictors = {
        "fastmlp": (lambda: model.predict(one), lambda: model.predict(many)),
        "onnxruntime": (lambda: session.run(None, {"X": one}), lambda: session.run(None, {"X": many})),
    }
    gap = float(np.abs(session.run(None, {"X": many[:1000]})[0] - model.predict(many[:1000])).max())
    for small, _ in predictors.values():  # warm-up: compiled code, caches, the runtimes' first-call set-up
        for _ in range(200):
            small()

    results = {name: {"p1": [], "p2": []} for name in predictors}
    names = list(predictors)
    for round_ in range(args.rounds):
        order = names if round_ % 2 == 0 else names[::-1]
        for name in order:
            small, large = predictors[name]
            results[name]["p1"].append(_latency(small, args.calls))
            results[name]["p2"].append(_throughput(large, args.rows))
        print(
            f"round {round_ + 1}: "
            + ", ".join(f"{n} {results[n]['p1'][-1]:.1f} µs, {results[n]['p2'][-1]:,.0f} rows/s" for n in order),
            flush=True,
        )

    print()
    print(
        f"W2 net 784-256-128-10 relu/softmax float32, {args.threads} thread(s), {args.rounds} rounds; "
        f"fastmlp {fm.__version__}, onnxruntime {ort.__version__}; largest |difference| of outputs {gap:.1e}"
    )
    print()
    print(f"| library | P1 one-row µs (median) | P1 spread | P2 rows/s on {args.rows:,} rows (median) | P2 spread |")
    print("|---|---:|---:|---:|---:|")
    for name in names:
        p1, p2 = results[name]["p1"], results[name]["p2"]
        print(
            f"| {name} | {statistics.median(p1):.1f} | {_spread(p1, '{:.1f}')} | {statistics.median(p2):,.0f} | "
            f"{_spread(p2, '{:,.0f}')} |"
        )
    latency = statistics.median(results["onnxruntime"]["p1"]) / statistics.median(results["fastmlp"]["p1"])
    throughput = statistics.median(results["fastmlp"]["p2"]) / statistics.median(results["onnxruntime"]["p2"])
    print()
    print(
        f"P1 latency onnxruntime/fastmlp {latency:.2f}, P2 throughput fastmlp/onnxruntime {throughput:.2f} "
        "(above 1: fastmlp is faster)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
