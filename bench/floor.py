"""The CPU floor of any pure-Python AST audit of a tree, against a bare parse.

    python bench/floor.py [TREE]        # default: the synthetic corpus

Times, in this one process (median of --runs): `ast.parse` of every .py file; one
`ast.walk` over all the resulting nodes; one `tokenize` pass over every file (what reading
comments and suppressions costs). An audit that looks at each node once and reads the
comments pays at least the sum, before extracting a fact or running a rule. The garbage
collector is tuned as prodaudit's CLI tunes it (freeze, thresholds 100k/50/50).
"""

from __future__ import annotations

import argparse
import ast
import gc
import io
import statistics
import time
import tokenize
from collections.abc import Callable
from pathlib import Path

DEFAULT_TREE = Path(__file__).parent / "corpus" / "synthetic"


def median_cpu(action: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.process_time()
        action()
        samples.append(time.process_time() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", nargs="?", type=Path, default=DEFAULT_TREE)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sources = [path.read_bytes() for path in sorted(args.tree.rglob("*.py"))]
    gc.freeze()
    gc.set_threshold(100_000, 50, 50)

    trees: list[ast.Module] = []

    def parse_all() -> None:
        trees[:] = [ast.parse(source) for source in sources]

    def walk_all() -> int:
        return sum(1 for tree in trees for _ in ast.walk(tree))

    def tokenize_all() -> None:
        for source in sources:
            for _ in tokenize.tokenize(io.BytesIO(source).readline):
                pass

    parse = median_cpu(parse_all, args.runs)
    walk = median_cpu(walk_all, args.runs)
    tokens = median_cpu(tokenize_all, args.runs)
    floor = parse + walk + tokens
    print(f"{len(sources)} files, {walk_all()} nodes, median of {args.runs} runs (CPU)")
    print(f"ast.parse        {parse:6.2f} s")
    print(f"one ast.walk     {walk:6.2f} s")
    print(f"one tokenize     {tokens:6.2f} s")
    print(f"floor            {floor:6.2f} s = {floor / parse:.1f}x the parse")


if __name__ == "__main__":
    main()
