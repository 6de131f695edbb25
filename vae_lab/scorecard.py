"""Test-set numbers per checkpoint: what `python -m vae_lab evaluate` prints."""
from __future__ import annotations

import torch

from . import checkpoints
from .data import load_split
from .metrics import classifier_accuracy, laplacian_variance, reconstruction_metrics
from .train import load_judge


@torch.no_grad()
def evaluate_checkpoint(name: str, *, device: str = "cpu", limit: int = 0) -> dict:
    """Reconstruction BCE (nats/image), KL, mean Laplacian variance of reconstructions and of the
    originals, and the judge classifier's accuracy on reconstructions; a classifier's own accuracy."""
    ckpt = checkpoints.find(name)
    model = checkpoints.load(ckpt.json_path, device)
    split = load_split(ckpt.dataset, train=False, device=device).subset(limit)
    row = {"name": ckpt.name, "kind": ckpt.kind, "dataset": ckpt.dataset, "images": len(split)}
    if ckpt.kind == "classifier":
        return row | {"accuracy": classifier_accuracy(model, split)}
    judge, _ = load_judge(ckpt.dataset, torch.device(device))
    summary = reconstruction_metrics(model, split, judge=judge).summary(split.labels)
    originals = laplacian_variance(split.float_images()).mean().item()
    return row | {"bce": summary["bce"], "kl": summary["kl"], "laplacian_variance": summary["laplacian_variance"],
                  "originals_laplacian_variance": originals, **({"accuracy": summary["accuracy"]}
                                                                if "accuracy" in summary else {})}


def evaluate_checkpoints(names: list[str], *, device: str = "cpu", limit: int = 0) -> list[dict]:
    return [evaluate_checkpoint(name, device=device, limit=limit) for name in names]


def format_table(rows: list[dict]) -> str:
    """A plain-text table, one row per checkpoint, numbers to 4 significant digits."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[_cell(row.get(col, "")) for col in columns] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(columns)]
    lines = ["  ".join(col.ljust(w) for col, w in zip(columns, widths))]
    lines += ["  ".join(c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _cell(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _numeric(text: str) -> bool:
    return text.replace(".", "", 1).replace("-", "", 1).replace("e", "", 1).isdigit()
