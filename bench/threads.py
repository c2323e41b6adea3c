"""Concurrent predict: many Python threads sharing one model, against the same calls made one after another.

Usage: ``python -m bench.threads [--threads 8] [--rows 20000] [--rounds 3]``

Prints, per round, the serial and threaded wall times, the speed-up and the number of threaded results that differ
from the serial ones in any bit (0 expected: each call has its own workspace and the kernels release the GIL). The
BLAS runs on one thread so that the speed-up comes from the Python threads alone.
"""

import argparse
import sys
import threading
import time


def _predict_into(model, inputs, results, i):
    results[i] = model.predict(inputs[i])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    import numpy as np

    import fastmlp as fm

    fm.set_num_threads(1)
    model = fm.Model([784, 256, 128, 10], output="softmax", seed=0)
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(args.rows, 784)).astype(np.float32) for _ in range(args.threads)]
    model.predict(inputs[0][:2])
    for round_ in range(1, args.rounds + 1):
        start = time.perf_counter()
        serial = [model.predict(X) for X in inputs]
        serial_seconds = time.perf_counter() - start
        threaded = [None] * args.threads
        workers = [
            threading.Thread(target=_predict_into, args=(model, inputs, threaded, i)) for i in range(args.threads)
        ]
        start = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        threaded_seconds = time.perf_counter() - start
        mismatches = sum(not np.array_equal(a, b) for a, b in zip(threaded, serial, strict=True))
        print(
            f"round {round_}: serial {serial_seconds:.3f} s, {args.threads} threads {threaded_seconds:.3f} s, "
            f"speed-up {serial_seconds / threaded_seconds:.2f}x, mismatches {mismatches}/{args.threads}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
