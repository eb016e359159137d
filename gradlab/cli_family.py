"""``gradlab`` and Hands-On ML chapter 11: families of presets and what a run's remedies did.

* ``gradlab run --preset FAMILY --out BASE.gradlab`` runs every preset of a family (a
  comparison such as ``handson-activations``: one preset per activation) into
  ``BASE-<member>.gradlab`` and prints one line per run: final validation accuracy (and MC
  dropout's), status and steps.
* ``gradlab presets`` ends with the families.
* ``gradlab info`` says what early stopping, MC dropout, reused and frozen layers did
  (:func:`remedy_lines`).
"""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Callable
from pathlib import Path

from gradlab.safeio import printable


def is_family(name: str) -> bool:
    from gradlab.experiment import presets

    return name not in presets.names() and bool(presets.family(name))


def print_families(width: int) -> None:
    """The families after the presets of ``gradlab presets``."""
    from gradlab.experiment import presets

    fams = presets.families()
    if not fams:
        return
    print("\nfamilies (gradlab run --preset FAMILY --out BASE.gradlab runs them all):")
    for fam, members in fams.items():
        short = [m[len(fam) + 1:] if m.startswith(fam + "-") else m for m in members]
        print(f"{fam:<{width}}  {len(members)} runs: {', '.join(short)}")
    sys.stdout.flush()


def member_out(base: Path, family: str, member: str) -> Path:
    """``acts.gradlab`` + ``handson-activations-elu`` -> ``acts-elu.gradlab``."""
    suffix = member[len(family) + 1:] if member.startswith(family + "-") else member
    return base.with_name(f"{base.stem}-{suffix}{base.suffix}")


def run_family(args, cmd_run: Callable) -> int:
    """Run every member of the family ``args.preset`` (see the module docstring); the exit code
    is the worst of the runs'."""
    from gradlab.experiment import load_session, presets

    family = args.preset
    base = Path(args.out)
    if base.suffix != ".gradlab":
        from gradlab.cli import UsageError

        raise UsageError(f"--out {args.out} must end in .gradlab")
    members = presets.family(family)
    worst = 0
    rows = []
    for member in members:
        one = copy.copy(args)
        one.preset = member
        one.out = str(member_out(base, family, member))
        if not args.quiet:
            print(f"{member}:", file=sys.stderr)
        code = cmd_run(one)
        worst = max(worst, code)
        if Path(one.out).exists():
            rows.append((member, one.out, load_session(one.out)))
    print(f"{family}: {len(rows)} of {len(members)} runs")
    width = max((len(m) for m, _, _ in rows), default=0)
    for member, out, exp in rows:
        print(f"  {member:<{width}}  {summary(exp):<44} {Path(out).name}")
    return worst


def summary(exp) -> str:
    """``val acc 86.1% (MC 86.5%), done at 2,000 steps``."""
    ev = exp.history.evals()
    acc = ev["val_acc"][-1] if len(ev["val_acc"]) else math.nan
    mc = ev["val_acc_mc"][-1] if len(ev["val_acc_mc"]) else math.nan
    text = f"val acc {acc:.1%}" if math.isfinite(acc) else "no validation"
    if math.isfinite(mc):
        text += f" (MC {mc:.1%})"
    return f"{text}, {exp.status} at {exp.step_count:,} steps"


def remedy_lines(exp) -> list[str]:
    """``gradlab info`` lines for early stopping, MC dropout, reused and frozen layers."""
    lines = []
    es = exp.early_stopping
    if es is not None:
        if es.stopped_step is not None:
            text = f"stopped at step {es.stopped_step:,}; best {es.best_text()}"
        else:
            text = f"on (patience {es.patience}, {es.used}); best {es.best_text()} so far"
        if es.restore_best_weights and es.best_step is not None and exp.status in (
            "stopped early", "done"
        ):
            text += f"; the network holds the weights of step {es.best_step:,}"
        lines.append(f"early stop  {text}")
    passes = exp.spec["training"].get("mc_dropout", 0)
    ev = exp.history.evals()
    if passes and len(ev["step"]):
        finite = [i for i, v in enumerate(ev["val_acc_mc"]) if math.isfinite(v)]
        if finite:
            i = finite[-1]
            lines.append(
                f"mc dropout  {passes} passes at step {int(ev['step'][i]):,}: validation acc "
                f"{ev['val_acc_mc'][i]:.1%} (without: {ev['val_acc'][i]:.1%}), loss "
                f"{ev['val_loss_mc'][i]:.4g} (without: {ev['val_loss'][i]:.4g})"
            )
    reused = [
        f"{b.index} <- {printable(Path(b.reused['from']).name, 80)}[{b.reused['layer']}]"
        for b in exp.network.blocks
        if b.reused is not None
    ]
    if reused:
        lines.append(f"reused      layer {', '.join(reused)}")
    frozen = [str(b.index) for b in exp.network.blocks if not b.trainable]
    if frozen:
        lines.append(f"frozen      layer{'s' if len(frozen) > 1 else ''} {', '.join(frozen)}")
    return lines
