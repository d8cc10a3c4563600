"""`import hwlib` stays cheap: the heavy libraries a notebook may use are imported only when it uses them."""
import subprocess
import sys

HEAVY = ("torchvision", "torch._dynamo", "transformers", "lightning", "pytorch_lightning", "lime", "captum",
         "sklearn", "skimage", "matplotlib.pyplot", "tensorboard", "autograder")


def test_import_hwlib_loads_no_heavy_library():
    code = f"import sys, hwlib; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", f"`import hwlib` imported {out.strip()}; import them inside the functions that need them"
