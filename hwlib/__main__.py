"""``python -m hwlib assets [NOTEBOOK]``: what each notebook downloads in online mode (:mod:`hwlib.assets`)."""
import sys

from . import assets

if __name__ == "__main__":
    if sys.argv[1:2] != ["assets"]:
        print("usage: python -m hwlib assets [NOTEBOOK]   (every file a notebook downloads, e.g. NOTEBOOK = 03)")
        raise SystemExit(2)
    raise SystemExit(assets.main(sys.argv[2:]))
