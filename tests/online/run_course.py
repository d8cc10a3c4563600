"""Every registered notebook against the online test course (quick mode), three ways:

1. **online**: ``HWLIB_SOURCE=online``, every asset downloaded from the server on 127.0.0.1 into a fresh cache;
2. **auto, server down**: ``HWLIB_SOURCE=auto`` with every URL pointing at a closed port: the notebook must say in
   one line that it uses offline mode, and run to the end offline;
3. **auto, one asset corrupted** (for each asset, in the first notebook that downloads it): the notebook must stop
   with a clear ``OfflineError`` (or fall back and finish), and nothing may be poisoned: the cache holds no copy
   of the bad bytes and no partial file, and once the server serves the good file again the asset loads from the
   same cache.

    python -m tests.online.run_course [--only 02_network_visualization ...] [--no-corrupt] [--no-down] [--no-online]
                                      [--corrupt-only imagenet_val_25.npz ...]

Prints one line per run and a table; exits 1 when any run fails. Runs on the CPU; takes tens of minutes.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import hwlib.assets as hwlib_assets

from . import assets
from .server import AssetServer

ROOT = Path(__file__).resolve().parents[2]
CLOSED_PORT = "http://127.0.0.1:9"

#: The assets each notebook downloads (server paths), in the order it downloads them: hwlib.assets' list, the two
#: instructor assets of notebook 04 (no fixed URL there) at their server paths.
_INSTRUCTOR_PATHS = {hwlib_assets.FOOD_CHECKPOINT.name: assets.FOOD_CHECKPOINT,
                     hwlib_assets.FOOD11.name: assets.FOOD_HW9_ZIP}
NOTEBOOK_ASSETS = {nb: [a.filename or _INSTRUCTOR_PATHS[a.name] for a in hwlib_assets.assets_for(nb)]
                   for nb in hwlib_assets.NOTEBOOKS}


def corruptions(name: str, good: bytes) -> tuple[str, bytes | None]:
    """How ``name`` is corrupted: (description, bytes), bytes None = answered by a web page."""
    if name.endswith((".pth", ".safetensors", ".zip")):
        return "a web page instead of the file", None
    if name.endswith(".npz"):
        return "the first half of the file", good[: len(good) // 2]
    if name.endswith(".gz"):
        return "the right length of garbage", bytes((b * 7 + 13) % 256 for b in good)
    return "text that does not parse", b"\x00\xffnot what it should be " * 40


def loader(name: str):
    """A call that loads the asset ``name`` online (run in this process against the same cache)."""
    import hwlib

    if name.startswith("mnist/"):
        return lambda: hwlib.load_digits("online", "train" if "train" in name else "val")
    if name.startswith("bert-base-chinese."):
        return lambda: hwlib.load_bert("online", device="cpu")
    return {"squeezenet1_1-b8a52dc0.pth": lambda: hwlib.load_squeezenet("online", device="cpu"),
            "imagenet_val_25.npz": lambda: hwlib.load_sample_images(source="online"),
            "googlenet-1378be20.pth": lambda: hwlib.load_googlenet(device="cpu"),
            assets.FOOD_CHECKPOINT: lambda: hwlib.load_food_classifier("online", device="cpu"),
            assets.FOOD_HW9_ZIP: lambda: hwlib.load_food_samples(10, "online"),
            "NotoSansTC-Regular.otf": hwlib.fetch_cjk_font}[name]


def execute(assignment_id: str, env: dict[str, str], timeout: int = 1800) -> tuple[bool, str, float]:
    """Run the solution notebook; ``(ok, printed text or the error's last lines, seconds)``."""
    from autograder.assignments import load_assignment, solution_notebook
    from autograder.notebook_run import execute_notebook, printed_text

    path = solution_notebook(load_assignment(assignment_id))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hwlib_online_run_") as cwd:
        try:
            nb = execute_notebook(path, env=env, timeout=timeout, cwd=Path(cwd))
        except Exception as err:  # nbclient's CellExecutionError carries the cell's traceback
            return False, str(err)[-3000:], time.perf_counter() - start
    return True, printed_text(nb), time.perf_counter() - start


def cache_is_clean(cache: Path, bad: bytes | None) -> str | None:
    """None when the cache holds no partial file and no copy of ``bad``; else what is wrong."""
    if not cache.exists():
        return None
    for path in cache.rglob("*"):
        if path.name.endswith(".part"):
            return f"partial file left: {path}"
        if path.is_file() and not path.is_symlink() and bad is not None and path.stat().st_size == len(bad) \
                and path.read_bytes() == bad:
            return f"the corrupt bytes were cached as {path}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="assignment ids (default: every registered notebook)")
    parser.add_argument("--no-corrupt", action="store_true", help="skip the corrupted-asset runs")
    parser.add_argument("--no-down", action="store_true", help="skip the server-down runs")
    parser.add_argument("--no-online", action="store_true", help="skip the online runs")
    parser.add_argument("--corrupt-only", nargs="*", metavar="ASSET",
                        help="corrupt only these assets (server paths, e.g. imagenet_val_25.npz; default: all)")
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "hwlib_online_course"),
                        help="folder for the built assets and the caches")
    args = parser.parse_args(argv)
    from autograder.assignments import CHECK_MODULES

    ids = [a for a in CHECK_MODULES if not args.only or a in args.only]
    unknown = [a for a in ids if a not in NOTEBOOK_ASSETS]
    if unknown:
        raise SystemExit(f"no online assets listed for {unknown}: add them to NOTEBOOK_ASSETS.")
    work = Path(args.work)
    t0 = time.perf_counter()
    files = assets.build(work / "build")
    print(f"built {len(files)} assets in {time.perf_counter() - t0:.0f} s under {work / 'build'}", flush=True)
    server = AssetServer(files)
    os.environ.pop("HWLIB_NO_NETWORK", None)
    base = {"HWLIB_QUICK": "1", "HWLIB_NO_NETWORK": "0"}
    results = []

    def record(assignment_id, mode, ok, detail, seconds):
        results.append((assignment_id, mode, ok, detail, seconds))
        print(f"{'PASS' if ok else 'FAIL'} {assignment_id:26s} {mode:42s} {seconds:6.0f} s  {detail}", flush=True)

    def fresh_cache(label):
        cache = work / "caches" / label
        shutil.rmtree(cache, ignore_errors=True)
        return cache

    corrupted_once = set()
    try:
        for assignment_id in ids:
            online_env = {**base, **assets.settings(server.url, work / "build"), "HWLIB_SOURCE": "online"}
            if not args.no_online:
                cache = fresh_cache(f"{assignment_id}-online")
                server.requests.clear()
                ok, text, seconds = execute(assignment_id, {**online_env, "HWLIB_CACHE": str(cache)})
                fetched = sorted({r.split(" ", 1)[1] for r in server.requests if r.startswith("GET")})
                missing = [a for a in NOTEBOOK_ASSETS[assignment_id] if a not in fetched and
                           not a.startswith("NotoSans")]
                ok = ok and "source=online" in text and not missing
                record(assignment_id, "online", ok, f"downloaded {len(fetched)} files" if ok else
                       (f"not downloaded: {missing}" if missing else text[-600:]), seconds)
            if not args.no_down:
                down = {**base, **assets.settings(CLOSED_PORT, work / "build"), "HWLIB_SOURCE": "auto",
                        "HWLIB_CACHE": str(fresh_cache(f"{assignment_id}-down"))}
                ok, text, seconds = execute(assignment_id, down)
                said = [line for line in text.splitlines() if "using offline mode" in line]
                ok = ok and len(said) == 1 and "source=offline" in text
                record(assignment_id, "auto, server down", ok, said[0][:90] if ok and said else text[-600:], seconds)
            if args.no_corrupt:
                continue
            for name in NOTEBOOK_ASSETS[assignment_id]:
                if name in corrupted_once or (args.corrupt_only and name not in args.corrupt_only):
                    continue
                corrupted_once.add(name)
                how, bad = corruptions(name, server.data(name))
                good = server.files[name]
                if bad is None:
                    server.html.add(name)
                else:
                    server.files[name] = bad
                cache = fresh_cache(f"{assignment_id}-corrupt-{name.replace('/', '_')}")
                env = {**base, **assets.settings(server.url, work / "build"), "HWLIB_SOURCE": "auto",
                       "HWLIB_CACHE": str(cache)}
                try:
                    ok, text, seconds = execute(assignment_id, env)
                finally:
                    server.html.discard(name)
                    server.files[name] = good
                if ok:
                    outcome, clear = "ran to the end", "source=offline" in text or name.startswith("NotoSans")
                else:
                    outcome, clear = "stopped", "OfflineError" in text and "nothing was cached" in text
                poisoned = cache_is_clean(cache, bad)
                if poisoned is None:
                    os.environ.update({k: v for k, v in env.items() if k != "HWLIB_SOURCE"})
                    try:
                        loader(name)()
                    except Exception as err:
                        poisoned = f"the good file does not load afterwards: {type(err).__name__}: {err}"[:300]
                detail = f"{outcome}: " + (text.strip().splitlines()[-1][:160] if text.strip() else "")
                record(assignment_id, f"auto, {name} = {how}"[:42], clear and poisoned is None,
                       detail if poisoned is None else poisoned, seconds)
    finally:
        server.close()
    failed = [r for r in results if not r[2]]
    print(f"\n{len(results) - len(failed)}/{len(results)} runs passed in {time.perf_counter() - t0:.0f} s")
    for assignment_id, mode, ok, detail, seconds in results:
        print(f"  {assignment_id:26s} {mode:42s} {'pass' if ok else 'FAIL'} {seconds:5.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
