"""cProfile one engine-overhead case per contestant, to see where graphwright's extra time goes.

    .venv/bin/python bench/profile_engine.py                      # N=1000 chain, none + sqlite
    .venv/bin/python bench/profile_engine.py --shape fanout --n 1000 --checkpointers none

Writes ``bench/results/profiles/<shape>-<variant>-<n>-<checkpointer>-<contestant>.txt``
(top functions by cumulative and by own time) after one unprofiled warm-up run. cProfile
roughly doubles the cost of Python calls, so read the listings for proportions, not seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import RESULTS, SHAPES, VARIANTS, command, default_sqlite_dir, parse_names
from bench.engine_overhead import CHECKPOINTERS, CONTESTANTS, Case, Clock, contestants_for


def listing(profile: cProfile.Profile, sort: str, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.strip_dirs().sort_stats(sort).print_stats(top)
    text = out.getvalue()
    # drop pstats' preamble up to the table, keep the totals line
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return "\n".join(lines)


async def profile_case(
    case: Case, contestant: str, top: int, dump: Path | None = None
) -> tuple[str, float]:
    await case.time_once(contestant)  # warm-up: template caches, bound graph
    profile = cProfile.Profile()
    Clock.profiler = profile  # on exactly while the benchmark's clock runs
    try:
        wall, _cpu = await case.time_once(contestant)
    finally:
        Clock.profiler = None
    if dump is not None:
        profile.dump_stats(dump)
    text = (f"# {case.shape} {case.variant} N={case.n} checkpointer={case.checkpointer} "
            f"contestant={contestant} (checkpointer used: {case.kind_for(contestant)})\n"
            f"# wall under the profiler: {wall:.3f} s\n\n"
            f"## top {top} by cumulative time\n{listing(profile, 'cumulative', top)}\n\n"
            f"## top {top} by own time\n{listing(profile, 'tottime', top)}\n")
    return text, wall


async def run(args: argparse.Namespace) -> list[Path]:
    written = []
    with tempfile.TemporaryDirectory(prefix="gw-prof-", dir=args.sqlite_dir) as tmp:
        for kind in args.checkpointers:
            case = Case(args.shape, args.variant, args.n, kind, Path(tmp))
            for contestant in [c for c in args.contestants if c in contestants_for(kind)]:
                stem = f"{args.shape}-{args.variant}-{args.n}-{kind}-{contestant}"
                dump = args.out_dir / f"{stem}.prof" if args.save_prof else None
                args.out_dir.mkdir(parents=True, exist_ok=True)
                text, wall = await profile_case(case, contestant, args.top, dump)
                path = args.out_dir / f"{stem}.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(f"# command: {command(__file__, args.argv)}\n{text}")
                written.append(path)
                print(f"{path}  ({wall:.3f} s profiled)", file=sys.stderr)
    return written


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=SHAPES, default="chain")
    parser.add_argument("--variant", choices=VARIANTS, default="const")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--checkpointers", type=lambda s: parse_names(s, CHECKPOINTERS),
                        default=["none", "sqlite"])
    parser.add_argument("--sqlite-dir", type=Path, default=default_sqlite_dir())
    parser.add_argument("--contestants", type=lambda s: parse_names(s, CONTESTANTS),
                        default=list(CONTESTANTS))
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--save-prof", action="store_true",
                        help="also write the raw .prof files (for snakeviz / pstats)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS / "profiles")
    args = parser.parse_args(argv)
    args.argv = argv
    return asyncio.run(run(args))


if __name__ == "__main__":
    main()
