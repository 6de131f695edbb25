"""What the quick CPU recipes reach, as measured: the runs that `benchmarks/time_to_quality.py --quick --record`
wrote to records/quick-recipes.json. The training panel states them, and the time estimate starts from their
wall times before this machine has recorded a run of its own."""
from __future__ import annotations

import json
import os
from pathlib import Path

from . import kinds

RECORD = Path(__file__).with_name("records") / "quick-recipes.json"
RUNS_KEPT = 3  # per kind, the latest: older ones measured a recipe or a machine that may have changed
# what each kind's figure is compared with on the page: the reference notebook's own models
REFERENCES = {kinds.PLAIN.name: "the reference notebook's plain VAE: 113",
              kinds.DFC.name: "the notebook's DFC VAE: 95.4%"}


def load(path: Path = RECORD) -> dict[str, list[dict]]:
    """Every kind's recorded runs, oldest first; empty where none was recorded."""
    try:
        return json.loads(path.read_text())["runs"]
    except FileNotFoundError:
        return {}


def add(run: dict, path: Path = RECORD) -> None:
    """Keep `run` (time_to_quality.py's record of one run) as its kind's latest, atomically."""
    runs = load(path)
    runs[run["kind"]] = (runs.get(run["kind"], []) + [run])[-RUNS_KEPT:]
    text = json.dumps({"written_by": "python benchmarks/time_to_quality.py --quick --record", "runs": runs},
                      indent=1, sort_keys=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text + "\n")
    os.replace(temporary, path)


def _span(values: list[float], fmt: str) -> str:
    low, high = format(min(values), fmt), format(max(values), fmt)
    return low if low == high else f"{low}-{high}"


def quality(kind: str, runs: list[dict]) -> str:
    """What the runs reached, in words, beside what they are compared with."""
    metrics = [run["metrics"] for run in runs]
    if kinds.get(kind).reconstruction == kinds.PIXELS:  # judged by its own loss, in nats
        said = f"{_span([m['bce'] for m in metrics], '.1f')} nats of reconstruction loss"
    else:
        said = f"{_span([m['accuracy'] * 100 for m in metrics], '.2f')}% of its reconstructions read correctly"
    if "shipped_dfc_laplacian_variance" in runs[-1]:
        said += (f", Laplacian variance {_span([m['laplacian_variance'] for m in metrics], '.3f')} against the "
                 f"shipped DFC VAE's {runs[-1]['shipped_dfc_laplacian_variance']:.3f}")
    return said + (f" ({REFERENCES[kind]})" if kind in REFERENCES else "")


def caption(kind: str, runs: list[dict] | None = None) -> str | None:
    """The panel's sentence on what the quick recipe of `kind` reached; None if it was never measured."""
    runs = load().get(kind) if runs is None else runs
    if not runs:
        return None
    seconds = " and ".join(f"{run['training_s']:.0f}" for run in runs)
    days = sorted({run["created"][:10] for run in runs})
    where = f"{runs[-1]['machine']}, {runs[-1]['precision']}, {' and '.join(days)}"
    return (f"Measured on MNIST with this recipe: {quality(kind, runs)}, after {runs[-1]['images']:,} training "
            f"images ({seconds} s of training in {len(runs)} run{'s' * (len(runs) > 1)}; {where}).")
