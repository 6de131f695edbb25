"""Progress listeners for `train(config, progress=...)`: each is called with every TrainEvent.

- `ConsoleProgress`: a tqdm bar on stderr, with each epoch's validation printed under it;
- `JsonLinesWriter`: every event appended to a file as one JSON object per line (the app's job
  monitor reads it);
- `EpochPreview`: after each epoch, reconstructions of fixed test digits written to a PNG.
`listeners(...)` joins several into one callback.
"""
from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from collections.abc import Callable

import torch
from tqdm.auto import tqdm

from . import checkpoints
from .data import load_split
from .images import image_grid, png_bytes
from .train import TrainEvent

Listener = Callable[[TrainEvent], None]


def listeners(*callbacks: Listener | None) -> Listener:
    """One callback that calls each of `callbacks` (None entries are skipped) in order."""
    chosen = [c for c in callbacks if c is not None]

    def call_all(event: TrainEvent) -> None:
        for callback in chosen:
            callback(event)
    return call_all


class ConsoleProgress:
    """A tqdm progress bar on stderr over all steps of the run; loss and speed in its postfix."""

    def __init__(self):
        self.bar: tqdm | None = None

    def __call__(self, event: TrainEvent) -> None:
        if self.bar is None:
            self.bar = tqdm(total=event.total_steps, unit="step", dynamic_ncols=True, file=sys.stderr)
        if event.event == "step":
            self.bar.set_description(f"epoch {event.epoch}/{event.epochs}")
            self.bar.set_postfix_str(f"loss {event.metrics.get('loss', float('nan')):.4g}, "
                                     f"{event.images_per_s:,.0f} img/s", refresh=False)
            self.bar.update(event.step - self.bar.n)
        elif event.event == "phase":
            self.bar.set_description(event.doing)
        elif event.event == "epoch":
            shown = "  ".join(f"{k} {v:.4g}" for k, v in event.metrics.items())
            self.bar.write(f"epoch {event.epoch}/{event.epochs} done in {event.elapsed_s:.0f}s: {shown}",
                           file=sys.stderr)  # stdout carries the run's JSON summary
        else:
            self.bar.close()


class JsonLinesWriter:
    """Appends every event to `path` as one JSON object per line, flushed at once."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, event: TrainEvent) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps(asdict(event)) + "\n")


class EpochPreview:
    """After each epoch, reconstructions of the first test image of each class, written to a PNG
    (originals on top): how a training job shows its progress."""

    def __init__(self, path: Path, dataset: str):
        split = load_split(dataset, train=False)
        self.path, self.originals = Path(path), split.batch(torch.tensor(split.one_per_class()))[0]

    def __call__(self, event: TrainEvent) -> None:
        if event.event != "epoch":
            return
        model = checkpoints.load(event.checkpoint)
        rows = [self.originals]
        if hasattr(model, "reconstruct"):
            with torch.no_grad():
                rows.append(model.reconstruct(self.originals))
        grid = png_bytes(image_grid(rows, scale=2))
        checkpoints.atomic_write(self.path, lambda tmp: tmp.write_bytes(grid))
