"""``make bench``: the measurements of the performance chapter (chapter 08) at full size, on this machine.

Writes ``results.json`` (the schema of ``tutorial_utils.benchmarks.validate_results``) and one PNG per figure into
``--out`` and nothing anywhere else (``torch.compile`` gets a fresh cache in a temporary folder inside ``--out``,
removed at the end, so that its compile time is the first-time cost). Prints one line per measurement while it runs
and the headline numbers at the end. Designed to finish within 10 minutes on an idle 2-core CPU; other work on the
machine makes the numbers slower and noisier (results.json records the load average), so run it alone.

    python tools/bench.py --out _build/bench [--threads N] [--mode full|reduced]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

FIGURES = ("ceiling", "training", "step_time", "compile", "inference", "pipelines")


def main(argv: list[str] | None = None) -> int:
    from tutorial_utils import benchmarks as bench
    from tutorial_utils.plotting import use_book_style

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder for results.json and the plots")
    parser.add_argument("--threads", type=int, default=None, help="threads per framework (default: usable cores)")
    parser.add_argument("--mode", choices=("full", "reduced"), default="full", help="full (default) or reduced")
    args = parser.parse_args(argv)

    config = (bench.BenchConfig.full if args.mode == "full" else bench.BenchConfig.reduced)(args.threads)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"make bench: {args.mode} run, {config.threads} threads per framework, results in {out}", flush=True)
    for note in config.notes():
        print(f"  not measured: {note}")
    # `kill` (SIGTERM) unwinds like Ctrl-C, so that the measurement process and the temporary cache go too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    start = time.perf_counter()

    def progress(message: str) -> None:
        print(f"{time.perf_counter() - start:6.0f} s  {message}", flush=True)

    results = bench.run_suite(config, cache_dir=out, progress=progress)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    use_book_style()
    for name in FIGURES:
        fig = getattr(bench, f"plot_{name}")(results)
        fig.savefig(out / f"{name}.png", dpi=130)
        plt.close(fig)
    print()
    print(bench.summary_text(results))
    pictures = ", ".join(f"{name}.png" for name in FIGURES)
    print(f"\nWrote {out / 'results.json'} and {pictures} in {time.perf_counter() - start:.0f} s")
    if results["errors"]:
        print(f"WARNING: {len(results['errors'])} measurement(s) failed; see 'errors' in results.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
