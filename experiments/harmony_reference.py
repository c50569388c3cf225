"""Regenerate `tests/data/harmony_java`: what Cockshott's own Java harmony program prints for the test economies.

    python experiments/harmony_reference.py --repo PATH/TO/5yearplan

Needs a JDK (`javac`, `java`) and a checkout of https://github.com/wc22m/5yearplan (GPL-3; it is not
vendored: only its programs' *output* is kept here, as reference data). The script compiles
`plancode/planning/*.java` into a temporary folder and runs `planning.nyearHarmony flows.csv cap.csv
dep.csv labtarg.csv` on every folder `tests/data/harmony_java/gen_*` and on `examples/cockshott_toy`,
keeping each year's `netoutput` row and the `totalharmony` line it prints.

The `gen_*` folders hold economies his generator wrote (`java planning.testeconomy SECTORS YEARS`, run once
for 3×4, 4×5, 5×3, 6×2 and 8×3; the generator is unseeded, so those files are kept rather than regenerated).
Measured on 2026-12-05 (OpenJDK on the development machine): jplan's `harmony_multiyear(e, **HARMONY_JAVA)`
reproduces every net output to 2e-8 (`tests/test_harmony.py`).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "harmony_java")


def parse(text: str) -> dict:
    rows, total = {}, None
    for line in text.splitlines():
        line = line.strip()
        m = re.match(r"^(\d+),netoutput ,(.*)$", line)
        if m:
            rows[int(m.group(1))] = [float(x) for x in m.group(2).split(",") if x.strip()]
        m = re.match(r"^totalharmony ,(.*)$", line)
        if m:
            total = float(m.group(1))
    if not rows:
        raise SystemExit("nyearHarmony printed no netoutput rows")
    return {"net_output": [rows[k] for k in sorted(rows)], "totalharmony": total}


def run(classes: str, folder: str) -> dict:
    files = [os.path.join(folder, f) for f in ("flows.csv", "cap.csv", "dep.csv", "labtarg.csv")]
    out = subprocess.run(["java", "-cp", classes, "planning.nyearHarmony", *files], capture_output=True, text=True, check=True)
    return parse(out.stdout)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True, help="a checkout of wc22m/5yearplan")
    args = parser.parse_args(argv)
    sources = glob.glob(os.path.join(args.repo, "plancode", "planning", "*.java"))
    if not sources:
        raise SystemExit(f"{args.repo}: no plancode/planning/*.java (is it a checkout of wc22m/5yearplan?)")
    with tempfile.TemporaryDirectory() as classes:
        subprocess.run(["javac", "-nowarn", "-d", classes, *sources], check=True, capture_output=True)
        for folder in sorted(glob.glob(os.path.join(DATA, "gen_*"))):
            with open(os.path.join(folder, "java_net_output.json"), "w") as f:
                json.dump(run(classes, folder), f, indent=1)
            print("wrote", os.path.relpath(folder, ROOT))
        toy = run(classes, os.path.join(ROOT, "examples", "cockshott_toy"))
        with open(os.path.join(DATA, "cockshott_toy_net_output.json"), "w") as f:
            json.dump({"economy": "examples/cockshott_toy", **toy}, f, indent=1)
        print("wrote the toy economy's reference")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
