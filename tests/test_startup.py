"""`import hwlib` stays cheap: the heavy libraries a notebook may use are imported only when it uses them."""
import subprocess
import sys

HEAVY = ("torchvision", "torch._dynamo", "transformers", "lightning", "pytorch_lightning", "lime", "captum",
         "sklearn", "skimage", "matplotlib.pyplot", "tensorboard", "autograder")


def test_import_hwlib_loads_no_heavy_library():
    code = f"import sys, hwlib; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", f"`import hwlib` imported {out.strip()}; import them inside the functions that need them"


def test_grader_host_imports_neither_torch_nor_hwlib():
    """The sandboxes' launchers start right after the grader's host description: finding the paths must not import
    torch (seconds the launchers would wait for)."""
    code = ("import sys; from autograder.sandbox_host import grader_host; host = grader_host(); "
            "print([m for m in ('torch', 'hwlib') if m in sys.modules], host.binds[:2])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("[] "), out
    from pathlib import Path

    import hwlib
    from hwlib._paths import data_dir

    assert f"'{Path(hwlib.__file__).resolve().parent}'" in out and f"'{data_dir().resolve()}'" in out


def test_the_reference_cache_key_imports_neither_torch_nor_hwlib():
    """A batch hashes the key on its own thread before torch is imported and hands it to the thread that runs the
    reference's process (which then parses no source file: ast.parse on two threads at once can fail in CPython
    3.11)."""
    code = ("import sys; from autograder.assignments import registered; from autograder.reference import "
            "cache_key; key = cache_key(registered()[0]); "
            "print([m for m in ('torch', 'hwlib') if m in sys.modules], len(key))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] 64", out
