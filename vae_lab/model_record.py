"""The model card's figures for the shipped VAEs, as data: `vae-lab evaluate --record DATASET` measures every
shipped VAE of the data set on its whole test split (the scorecard, and a paired t-test of its sharpness against
the DFC VAE's) and stores them with the checkpoints' hashes in `vae_lab/records/models-<dataset>.json`, and
the analyses themselves beside the shipped weights (checkpoints/analyses), where a new server reads them;
`vae-lab docs` writes docs/model-card.md's tables from it (`vae_lab.doc_blocks`)."""
from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import torch

from . import checkpoints, datasets, kinds, scorecard
from .data import has_split, missing_data_notice
from .datasets import default_name
from .metrics import COLOURS
from .stats import p_text, paired_comparison
from .workspace import Workspace



def shipped_vaes(dataset: str) -> list[checkpoints.Checkpoint]:
    names = [default_name(kind.name, dataset) for kind in kinds.MODEL_CARD]
    return [checkpoints.shipped(name) for name in names if name in checkpoints.shipped_names()]


def build(dataset: str, *, command: str = "") -> dict:
    vaes = shipped_vaes(dataset)
    rows, analyses = [], {c.name: scorecard.analyse(c) for c in vaes}
    reference = default_name(kinds.DFC.name, dataset)
    for ckpt in vaes:
        analysis = analyses[ckpt.name]
        row = {"name": ckpt.name, "kind": ckpt.kind, "images": len(analysis.per_image["bce"]),
               "files": ckpt.meta["files"], **analysis.scorecard}
        if ckpt.name != reference and reference in analyses:
            test = paired_comparison(analysis.per_image["laplacian_variance"],
                                     analyses[reference].per_image["laplacian_variance"], name_a=ckpt.name,
                                     name_b=reference)
            row["sharper_than_dfc"] = {"cohens_dz": test.cohens_dz, "t_p_value": test.t_p_value,
                                       "fraction_sharper": test.fraction_a_greater}
        rows.append(row)
    originals = float(scorecard.originals_laplacian_variance(dataset).mean())
    return {"format": "vae_lab.models/1", "dataset": dataset,
            "command": command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "torch": torch.__version__,
            "originals_laplacian_variance": originals, "rows": rows}


def ship_analyses(dataset: str, folder: Path = scorecard.SHIPPED_ANALYSES) -> list[Path]:
    """Store the shipped VAEs' analyses beside their weights (replacing their older ones), so that a new server
    reads them instead of computing them: on the whole test split, and on the embedded sample that a server
    without the data set (a Space, a laptop before `vae-lab fetch-data`) shows. The files written."""
    if not has_split(dataset, train=False):
        raise ValueError(f"the shipped analyses are of the whole test split: {missing_data_notice(dataset)}")
    written = []
    server = Workspace.from_env()
    with tempfile.TemporaryDirectory() as no_data:
        places = [server] + ([replace(server, data=Path(no_data))] if datasets.get(dataset).sample else [])
        for ckpt in shipped_vaes(dataset):
            stems = []
            for place in places:
                stem = folder / scorecard.entry_name(ckpt, workspace=place)
                scorecard.store(scorecard.analyse(ckpt, workspace=place), stem)
                stems.append(stem)
            for old in folder.glob(f"{ckpt.name}-*.*"):
                if old.name.rpartition("-")[0] == ckpt.name and old.with_suffix("") not in stems:
                    old.unlink()
            written += [stem.with_suffix(suffix) for stem in stems for suffix in (".json", ".safetensors")]
    return written


def path(dataset: str, folder: Path | None = None) -> Path:
    from .lesson_record import record_dir
    return (folder or record_dir()) / f"models-{dataset}.json"


def write(record: dict, folder: Path | None = None) -> Path:
    target = path(record["dataset"], folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    checkpoints.atomic_write(target, lambda tmp: tmp.write_text(json.dumps(record, indent=1) + "\n"))
    return target


def read(dataset: str, folder: Path | None = None) -> dict | None:
    found = path(dataset, folder)
    return json.loads(found.read_text()) if found.is_file() else None


def stale(record: dict) -> list[str]:
    """The record's rows whose checkpoint is no longer the shipped one (or is gone)."""
    current = {c.name: c.meta["files"] for c in shipped_vaes(record["dataset"])}
    return [row["name"] for row in record["rows"] if current.get(row["name"]) != row["files"]] + \
        [name for name in current if name not in {row["name"] for row in record["rows"]}]


def table(record: dict) -> str:
    lines = [f"| model | BCE nats/image | KL | accuracy on reconstructions | Laplacian variance (originals "
             f"{record['originals_laplacian_variance']:.3g}) | sharper than DFC? (paired t-test) | FD reconstructions "
             "| FD prior samples | confident prior samples | prior samples' precision / recall | rarest class in "
             "prior samples | FD, confident share: aggregate-posterior samples |",
             "| --- |" + " ---: |" * 4 + " --- |" + " ---: |" * 6]
    for r in record["rows"]:
        test = r.get("sharper_than_dfc")
        sharper = "(reference)" if test is None else (
            f"{'yes' if test['cohens_dz'] > 0 and test['t_p_value'] < 1e-3 else 'no'}: d_z {test['cohens_dz']:.2f}, "
            f"p {p_text(test['t_p_value'])}, sharper in {100 * test['fraction_sharper']:.1f}% of images")
        lines.append(f"| `{r['name']}` | {r['bce']:.1f} | {r['kl']:.1f} | {100 * r['accuracy']:.2f}% | "
                     f"{r['laplacian_variance']:.3g} | {sharper} | {r['fid_reconstructions']:.1f} | "
                     f"{r['fid_samples']:.1f} | {100 * r['confident_samples']:.1f}% | {r['precision']:.2f} / "
                     f"{r['recall']:.2f} | {100 * r['smallest_class_share']:.1f}% | {r['fid_posterior']:.1f}, "
                     f"{100 * r['posterior_confident_samples']:.1f}% |")
    return "\n".join(lines + colour_lines(record)) + \
        f"\n\nMeasured by `{record['command']}` on {record['created'][:10]} ({record['rows'][0]['images']:,} test " \
        f"images, torch {record['torch']})."


def colour_lines(record: dict) -> list[str]:
    """For a colour data set, how well each model keeps the colours: each channel's mean squared error."""
    if "mse_red" not in record["rows"][0]:
        return []
    lines = ["", "| model | mean squared error: red | green | blue |", "| --- | ---: | ---: | ---: |"]
    return lines + [f"| `{r['name']}` | " + " | ".join(f"{r[f'mse_{colour}']:.4f}" for colour in COLOURS) + " |"
                    for r in record["rows"]]
