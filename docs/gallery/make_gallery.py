"""Make the README's figure gallery (docs/gallery/*.png) with the code users call.

    python docs/gallery/make_gallery.py            # about a minute on two cores

Each image is ``gradlab.figures.plot(...)`` of a short run of a preset, saved with
``gradlab.figures.save`` at a modest resolution (the files stay small; a paper would use the
default 300 dpi or a PDF).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from gradlab import figures
from gradlab.experiment import Experiment, presets

HERE = Path(__file__).resolve().parent


def run(preset: str, steps: int, **changes) -> Experiment:
    """A preset trained for ``steps`` steps (0: the step-0 probe only)."""
    spec = presets.load(preset)
    spec["training"]["steps"], spec["training"]["epochs"] = steps, None
    for key, value in changes.items():
        if key == "name":
            spec["name"] = value
        else:  # the hidden layers' activation or init
            for layer in spec["network"]["layers"]:
                layer[key] = value
    exp = Experiment(spec)
    exp.run()
    return exp


def main() -> int:
    t0 = time.perf_counter()
    glorot = run("glorot-tanh-standard", 0)
    cs_small = run("cs231n-tanh-0.01", 0)
    cs_xavier = run("cs231n-tanh-xavier", 0)
    nielsen = run("nielsen-sigmoid-4hidden", 3000)
    spirals = [
        run("spiral", 1500, name=f"{act}, {init}", activation=act, init=init)
        for act in ("tanh", "relu")
        for init in ("glorot_uniform", "he_normal")
    ]
    sigmoid = run("glorot-sigmoid-standard", 300)
    shots = [
        ("glorot-gradients", glorot, "distributions", {"step": 0, "quantity": "delta"}, 150),
        ("cs231n-collapse", cs_small, "distributions", {"step": 0, "layout": "multiples"}, 110),
        ("cs231n-profile", cs_xavier, "profile", {"step": 0, "quantity": "act"}, 150),
        ("nielsen-speed", nielsen, "speed", {}, 110),
        ("glorot-over-time", sigmoid, "over_time", {"quantity": "act"}, 150),
        ("compare-table1", spirals, "compare", {}, 110),
        ("spiral-dashboard-slides", spirals[0], "dashboard", {"style": "slides"}, 60),
    ]
    for name, source, kind, options, dpi in shots:
        fig = figures.plot(source, kind, **options)
        out = figures.save(fig, HERE / f"{name}.png", dpi=dpi)
        print(f"{out.relative_to(HERE.parents[1])}: {out.stat().st_size // 1024} KB")
    print(f"gallery made in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
