"""Figures in the docs come from records, never from typing: a docs file marks each generated part with
`<!-- figures:NAME -->` and `<!-- /figures -->`, and `vae-lab docs FILE...` rewrites what lies between from the
stored records (the lesson's, `vae_lab.lesson_record`; the model card's, `vae_lab.model_record`). A test renders
every docs file again and fails where it differs."""
from __future__ import annotations

import numpy as np

from . import lesson_record, model_record
from .data import DATASETS

DOCS = ("README.md", "docs/lesson.md", "docs/model-card.md")  # the files with blocks, relative to the checkout
PICTURES = {f"docs/lesson-optima-{dataset}.png": dataset for dataset in DATASETS}  # drawn from the lesson records


class StaleRecord(ValueError):
    """A record is missing, or was computed with other checkpoints than the shipped ones."""


def all_blocks() -> dict[str, str]:
    """Every block's text, from the records of the checkpoints in use; StaleRecord names what to run first."""
    lessons = {dataset: lesson_record.load(dataset) for dataset in DATASETS}
    missing = [dataset for dataset, record in lessons.items() if record is None]
    if missing:
        raise StaleRecord(f"no lesson record computed with the checkpoints in use for {', '.join(missing)}: run "
                          f"`vae-lab lesson --write --dataset NAME` first")
    found = lesson_record.blocks(lessons)
    for dataset in DATASETS:
        record = model_record.read(dataset)
        if record is None or model_record.stale(record):
            raise StaleRecord(f"the model record of {dataset} is missing or names other checkpoints: run "
                              f"`vae-lab evaluate --record {dataset}` first")
        found[f"models:{dataset}"] = model_record.table(record)
    return found


def pictures() -> dict[str, np.ndarray]:
    """Each docs picture drawn from the records, by its path in the checkout."""
    return {path: lesson_record.optima_picture(lesson_record.load(dataset)) for path, dataset in PICTURES.items()}


def render_docs(text: str, rendered: dict[str, str]) -> str:
    """`text` with every block marked `<!-- figures:NAME -->` ... `<!-- /figures -->` given its rendering as its
    body, indented as its opening mark is (so a block inside a list item stays in it); an unknown block is an
    error."""
    out, rest = [], text
    while (start := rest.find("<!-- figures:")) >= 0:
        head_end = rest.index("-->", start) + 3
        name = rest[start + len("<!-- figures:"):head_end - 3].strip()
        if name not in rendered:
            raise ValueError(f"docs: unknown figures block {name!r}; known: {sorted(rendered)}")
        indent = rest[rest.rfind("\n", 0, start) + 1:start]
        end = rest.index("<!-- /figures -->", head_end)
        body = "\n".join(indent + line if line else line for line in rendered[name].split("\n"))
        out.append(rest[:head_end] + "\n" + body + "\n" + indent)
        rest = rest[end:]
    return "".join(out) + rest
