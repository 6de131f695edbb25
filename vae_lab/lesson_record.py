"""The landing page's figures for the shipped models, computed once by `vae-lab lesson --write` and kept as a
record beside the package: how each loss ranks a strong blur against a 2-pixel shift over the first test
images, and each loss's optimum for the first test image of each class. The page opens at once from it, and
the README and docs/lesson.md quote it (`vae-lab docs` rewrites their marked tables).

A record names the hashes of every checkpoint file it was computed with; `load` returns None where any of them
differs from the checkpoint in use, so a retrained model never shows stale figures.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from . import checkpoints, datasets, kinds, lesson
from .datasets import default_name
from .data import DEFAULT_DIGITS, load_sample, test_split
from .images import image_grid
from .metrics import laplacian_variance, readings

RECORD_DIR = Path(__file__).resolve().parent / "records"
MAX_SHIFTS = (1, 2)  # the page's choices for the optima's targets


def record_dir() -> Path:
    """$VAE_LAB_RECORDS if set (tests, a Space's build), else the package's own records."""
    return Path(os.environ.get("VAE_LAB_RECORDS") or RECORD_DIR)


def inputs(dataset: str) -> dict[str, dict]:
    """Every shipped checkpoint file the lesson reads for `dataset`, name -> {role: {file, sha256}}."""
    names = [default_name(kind.name, dataset) for kind in kinds.LESSON]
    dfc = checkpoints.shipped(names[1])
    names.append(dfc.meta["perceptual"]["checkpoint"])  # the DFC loss's classifier, which also reads the optima
    return {name: checkpoints.shipped(name).meta["files"] for name in names}


def image_key(x: torch.Tensor, max_shift: int) -> str:
    """Which optima an image's record entry holds: the image's own bytes, so any source of the same image
    (the full test split, the embedded sample, a link) finds it."""
    return f"{hashlib.sha256(x.float().contiguous().numpy().tobytes()).hexdigest()[:16]}-{max_shift}"


@dataclass
class Record:
    meta: dict  # command, date, threads, inputs (the checkpoints' hashes), verdicts, optima rows
    images: dict[str, torch.Tensor]  # "<image_key>:<loss>" -> the optimum (1, 28, 28)

    @property
    def verdicts(self) -> dict[str, lesson.Verdict]:
        return {key: lesson.Verdict(**value) for key, value in self.meta["verdicts"].items()}

    def optima(self, x: torch.Tensor, max_shift: int) -> dict[str, lesson.Optimum] | None:
        """The recorded optima of the image `x` (1, 1, 28, 28) for that largest shift, if it has them."""
        key = image_key(x, max_shift)
        row = next((r for r in self.meta["optima"] if r["key"] == key), None)
        if row is None:
            return None
        return {loss: lesson.Optimum(loss, self.images[f"{key}:{loss}"], [row["final_loss"][loss]],
                                     row["seconds"][loss]) for loss in lesson.OPTIMA}


def build(dataset: str, *, images: int = lesson.VERDICT_IMAGES, command: str = "") -> Record:
    """Compute the record: the verdicts over the first `images` test images, and the optima, for every largest
    shift the page offers, of the first test image of each class and of the sidebar's default digits (with the
    full test split and with the embedded sample, which draw different ones)."""
    judges, split = lesson.Judges.of(dataset), test_split(dataset)
    x, _ = split.batch(slice(0, images))
    verdicts = {key: vars(v) for key, v in lesson.verdict_summary(x, judges).items()}
    firsts = [split.number(p) for p in split.one_per_class()]
    numbers = list(firsts)
    for shown in (split, load_sample(dataset)):
        numbers += [n for n in shown.random_numbers(DEFAULT_DIGITS) if n not in numbers]
    rows, stored = [], {}
    for number in numbers:
        index = split.position(number)
        image = split.batch(slice(index, index + 1))[0]
        label = int(split.labels[index])
        for max_shift in MAX_SHIFTS:
            targets = lesson.shifted_targets(image, max_shift=max_shift, background=datasets.get(dataset).background)
            found = {loss: replace(o, image=eight_bit(o.image)) for loss, o in lesson.optima(targets, judges).items()}
            key = image_key(image, max_shift)
            stored |= {f"{key}:{loss}": o.image.contiguous() for loss, o in found.items()}
            probabilities, _ = readings(judges.dfc.net, torch.stack([o.image for o in found.values()]))
            targets_read, _ = readings(judges.dfc.net, targets)
            rows.append({
                "key": key, "index": split.number(index), "class": split.class_names[label], "max_shift": max_shift,
                "first_of_class": number in firsts,
                "targets_laplacian_variance": float(laplacian_variance(targets).mean()),
                "pixel_mean_laplacian_variance": float(laplacian_variance(targets.mean(dim=0, keepdim=True))[0]),
                "bce_largest_gap_to_mean": float((found["bce"].image - targets.mean(dim=0)).abs().max()),
                "laplacian_variance": {loss: o.laplacian_variance for loss, o in found.items()},
                "read_as_class": {loss: float(p[label]) for loss, p in zip(found, probabilities)},
                "targets_read_as_class": float(targets_read[:, label].mean()),  # how sure the classifier is of them
                "seconds": {loss: round(o.seconds, 3) for loss, o in found.items()},
                "final_loss": {loss: o.losses[-1] for loss, o in found.items()},
            })
    meta = {"format": "vae_lab.lesson/1", "dataset": dataset,
            "command": command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "threads": torch.get_num_threads(),
            "test_images": len(x), "sample": split.is_sample, "inputs": inputs(dataset),
            "verdicts": verdicts, "optima": rows}
    return Record(meta, stored)


def eight_bit(image: torch.Tensor) -> torch.Tensor:
    """`image` as the 8-bit pixels a record stores (a 64-pixel colour optimum takes 12 KB so, 49 KB as float32);
    the record's figures are computed from these very pixels."""
    return (image * 255).round() / 255


def paths(dataset: str, folder: Path | None = None) -> tuple[Path, Path]:
    folder = folder or record_dir()
    return folder / f"lesson-{dataset}.json", folder / f"lesson-{dataset}.optima.safetensors"


def write(record: Record, folder: Path | None = None) -> Path:
    """Both files, each written whole and then renamed into place, the JSON last."""
    meta_path, images_path = paths(record.meta["dataset"], folder)
    meta_path.parent.mkdir(parents=True, exist_ok=True)
    pixels = {key: (image * 255).round().to(torch.uint8) for key, image in record.images.items()}
    checkpoints.atomic_write(images_path, lambda tmp: save_file(pixels, str(tmp)))
    checkpoints.atomic_write(meta_path, lambda tmp: tmp.write_text(json.dumps(record.meta, indent=1) + "\n"))
    return meta_path


def read(dataset: str, folder: Path | None = None) -> Record | None:
    """The stored record as it is (None if there is none), whatever checkpoints it was computed with."""
    meta_path, images_path = paths(dataset, folder)
    if not (meta_path.is_file() and images_path.is_file()):
        return None
    images = {key: image.float() / 255 if image.dtype == torch.uint8 else image  # records before 8-bit: float32
              for key, image in load_file(str(images_path)).items()}
    return Record(json.loads(meta_path.read_text()), images)


def load(dataset: str, folder: Path | None = None) -> Record | None:
    """The record, if every checkpoint it names is the one in use now (else None: compute live)."""
    record = read(dataset, folder)
    try:
        current = inputs(dataset)
    except checkpoints.CheckpointError:
        return None
    if record is None or record.meta["inputs"] != current:
        return None
    return record


# --- the docs' figures, rendered from the records ------------------------------------------------------

def _count(v: dict) -> str:
    return f"{v['images'] - v['blur_cheaper']:,} of {v['images']:,}"


def verdict_table(records: dict[str, Record]) -> str:
    head = "| loss |" + "".join(f" {datasets.label(d)}: blur costs more | median blur / shift |" for d in records)
    lines = [head, "| --- |" + " --- | --- |" * len(records)]
    for key in next(iter(records.values())).meta["verdicts"]:
        cells = "".join(f" {_count(r.meta['verdicts'][key])} | {r.meta['verdicts'][key]['median_ratio']:.3f} |"
                        for r in records.values())
        lines.append(f"| {lesson.loss_label(key)} |{cells}")
    return "\n".join(lines)


def optima_table(record: Record, *, max_shift: int = 2) -> str:
    rows = [r for r in record.meta["optima"] if r["max_shift"] == max_shift and r["first_of_class"]]
    lines = [f"| {datasets.label(record.meta['dataset'])} test image | targets (mean) | targets' pixel mean | "
             "BCE optimum | DFC optimum | critic optimum | BCE's largest gap to the mean | targets read as their "
             "class (mean) | DFC optimum read as its class | critic optimum read as its class |",
             "| --- |" + " ---: |" * 9]
    for r in rows:
        lv, read = r["laplacian_variance"], r["read_as_class"]
        lines.append(f"| #{r['index']} ({r['class']}) | {r['targets_laplacian_variance']:.4f} | "
                     f"{r['pixel_mean_laplacian_variance']:.4f} | {lv['bce']:.4f} | {lv['dfc']:.4f} | "
                     f"{lv['critic']:.4f} | {r['bce_largest_gap_to_mean']:.4f} | {r['targets_read_as_class']:.2f} | "
                     f"{read['dfc']:.2f} | {read['critic']:.2f} |")
    return "\n".join(lines)


def optima_picture(record: Record, *, max_shift: int = 2, scale: int = 3) -> np.ndarray:
    """One row per class's first test image: the image, then BCE's, the DFC loss's and the critic's optimum."""
    split = test_split(record.meta["dataset"])
    rows = []
    for r in (r for r in record.meta["optima"] if r["max_shift"] == max_shift and r["first_of_class"]):
        position = split.position(r["index"])
        original = split.batch(slice(position, position + 1))[0][0] if position is not None else \
            torch.zeros(datasets.get(split.dataset).image_shape)
        rows.append(torch.stack([original, *(record.images[f"{r['key']}:{loss}"] for loss in lesson.OPTIMA)]))
    return image_grid(rows, pad=2, scale=scale)


def provenance(records: dict[str, Record]) -> str:
    parts = []
    for dataset, r in records.items():
        names = ", ".join(f"`{name}` ({files['model']['sha256'][:12]})" for name, files in r.meta["inputs"].items())
        parts.append(f"{datasets.label(dataset)}: `{r.meta['command']}`, {r.meta['created'][:10]}, "
                     f"{r.meta['threads']} thread(s), from {names}")
    return "Written by `vae-lab lesson --write` (records in `vae_lab/records/`): " + "; ".join(parts) + "."


def summary_sentence(records: dict[str, Record]) -> str:
    """The README's one paragraph of lesson figures."""
    parts = []
    for dataset, r in records.items():
        v = r.meta["verdicts"]
        parts.append(f"on {datasets.label(dataset)}, BCE charges the blur more on {_count(v['bce'])} images "
                     f"(median {v['bce']['median_ratio']:.2f} of a shift), the shipped DFC VAE's loss on "
                     f"{_count(v['dfc'])} (median {v['dfc']['median_ratio']:.2f}) and the hinge VAE-GAN's critic on "
                     f"{_count(v['critic'])} ({v['critic']['median_ratio']:.2f})")
    return "Over the first test images, " + "; ".join(parts) + "."


def blocks(records: dict[str, Record]) -> dict[str, str]:
    """The docs' lesson blocks (`vae_lab.doc_blocks`), by name."""
    found = {"lesson:verdicts": verdict_table(records), "lesson:provenance": provenance(records),
             "lesson:summary": summary_sentence(records)}
    return found | {f"lesson:optima:{dataset}": optima_table(r) for dataset, r in records.items()}
