"""Figures in the docs come from records, never from typing: a docs file marks each generated part with
`<!-- figures:NAME -->` and `<!-- /figures -->`, and `vae-lab docs FILE...` rewrites what lies between from the
stored records (the lesson's, `vae_lab.lesson_record`; the model card's, `vae_lab.model_record`; the quick
recipes', `vae_lab.quick_record`; the benchmarks' results files). A test renders every docs file again and fails
where it differs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import lesson_record, model_record, quick_record
from .datasets import SHIPPED, WITH_MODELS

DATASETS = tuple(d.name for d in SHIPPED)

CHECKOUT = Path(__file__).resolve().parent.parent
DOCS = ("README.md", "docs/lesson.md", "docs/model-card.md", "docs/performance.md",
        "docs/time-to-quality.md")  # the files with blocks, relative to the checkout
LANDING = CHECKOUT / "benchmarks" / "results" / "landing.json"  # benchmarks/landing.py's
SPACE_FIRST_VISIT = CHECKOUT / "benchmarks" / "results" / "space_first_visit.json"  # .ci/space-image's, copied
LOAD = CHECKOUT / "benchmarks" / "results" / "load.json"  # benchmarks/load.py's
QUICK_JOB = CHECKOUT / "benchmarks" / "results" / "quick_job.json"  # benchmarks/quick_job.py's
BROWSER = CHECKOUT / "benchmarks" / "results" / "browser_decoding.json"  # benchmarks/browser_decoding.py's
BROWSER_EMOJI = BROWSER.with_name("browser_decoding-emoji.json")  # its --dataset emoji run
FOLDER_DATA = CHECKOUT / "benchmarks" / "results" / "folder_data.json"  # benchmarks/folder_data.py's
RANDOM_PERCEPTUAL = CHECKOUT / "benchmarks" / "results" / "random_perceptual.json"  # benchmarks/random_perceptual.py's
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
    for dataset in (d.name for d in WITH_MODELS):
        record = model_record.read(dataset)
        if record is None or model_record.stale(record):
            raise StaleRecord(f"the model record of {dataset} is missing or names other checkpoints: run "
                              f"`vae-lab evaluate --record {dataset}` first")
        found[f"models:{dataset}"] = model_record.table(record)
    found["quick-recipes"] = quick_recipes_table(quick_record.load())
    if LANDING.is_file():
        space = json.loads(SPACE_FIRST_VISIT.read_text()) if SPACE_FIRST_VISIT.is_file() else None
        found["landing"] = landing_table(json.loads(LANDING.read_text()), space)
    if LOAD.is_file():
        found["load"] = load_table(json.loads(LOAD.read_text()))
    if QUICK_JOB.is_file():
        found["quick-job"] = quick_job_table(json.loads(QUICK_JOB.read_text()))
    if FOLDER_DATA.is_file():
        found["folder-data"] = folder_data_table(json.loads(FOLDER_DATA.read_text()))
    if RANDOM_PERCEPTUAL.is_file():
        found["random-perceptual"] = random_perceptual_table(json.loads(RANDOM_PERCEPTUAL.read_text()))
    if BROWSER.is_file():
        browser = json.loads(BROWSER.read_text())
        found["browser"], found["browser:summary"] = browser_table(browser), browser_summary(browser)
    if BROWSER_EMOJI.is_file():
        found["browser:emoji"] = browser_table(json.loads(BROWSER_EMOJI.read_text()))
    return found


def browser_summary(result: dict) -> str:
    """The README's lines: frames per second in WebAssembly against the bars, and the JavaScript's beside them."""
    found = {(row["path"], row["models"], row["gesture"]): row["frames_per_s"] for row in result["gestures"]}
    drawing, slider = "drawing, moves made in the page every 4 ms", "dragging a slider"
    rows = ["| frames per second | WebAssembly SIMD | JavaScript | bar |", "| --- | ---: | ---: | ---: |"]
    for models, gesture, bar in ((4, drawing, 30), (1, drawing, 60), (4, slider, 50)):
        name = "drawing" if gesture == drawing else gesture
        wasm, javascript = (found[(path, models, gesture)] for path in ("WebAssembly SIMD", "JavaScript"))
        rows.append(f"| {name}, {models} model{'s' if models > 1 else ''} | {wasm:.1f} | {javascript:.1f} | {bar} |")
    return "\n".join(rows + ["", f"Median of {result['runs']} runs, {result['created'][:10]}, {result['browser']} on "
                                  f"{result['machine']}; at most 60 frames a second are drawn."])


def browser_table(result: dict) -> str:
    """benchmarks/browser_decoding.py's figures: frames per second per path, models and gesture, and what set them."""
    load = ", ".join(f"{value:.1f}" for value in result["load_average_before"])
    rows = [f"Measured {result['created'][:16]} at {result['commit']} ({result['machine']}, {result['browser']}; load "
            f"average before {load}) with `{result['command']}`: the median of {result['runs']} runs of "
            f"{result['seconds']:g} s each (every run in brackets), in the page's own clock.", "",
            "| path | models | gesture | frames/s | pointer moves/s | the page's work per frame, ms | decode, ms | "
            "encode, ms |", "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in result["gestures"]:
        moves = f"{row['pointer_moves_per_s']:.1f}" + (" (they set the rate)" if row["pointer_bound"] else "")
        encode = "-" if row["encode_ms"] is None else f"{row['encode_ms']:.2f}"
        rows.append(f"| {row['path']} | {row['models']} | {row['gesture']} | **{row['frames_per_s']:.1f}** "
                    f"({', '.join(f'{v:.1f}' for v in row['frames_per_s_runs'])}) | {moves} | "
                    f"{row['work_ms_per_frame']:.2f} | {row['decode_ms']:.2f} | {encode} |")
    if "bytes_received" not in result:  # the emoji data set's run times the gestures alone
        return "\n".join(rows)
    opened, chosen = result["page_opened_to_first_image_s"], result["model_chosen_to_first_image_s"]
    traffic = result["bytes_received"]
    rows += ["", f"From opening the Latent explorer (a new session, 4 models) to its first decoded image: median "
             f"{float(np.median(opened)):.2f} s ({', '.join(f'{t:.2f}' for t in opened)}); from choosing a model "
             f"beside another to its first image: median {float(np.median(chosen)):.2f} s "
             f"({', '.join(f'{t:.2f}' for t in chosen)}). Bytes the page received: a visit with drawing on and one "
             f"model {traffic['visit']:,} (its decoder and encoder, once); a rerun of the page that keeps the model "
             f"{traffic['rerun']:,}."]
    return "\n".join(rows)


def quick_job_table(result: dict) -> str:
    """benchmarks/quick_job.py's figures: each quick job's wall time, split by what it did."""
    load = ", ".join(f"{value:.1f}" for value in result["load_average_before"])
    rows = [f"Measured {result['created'][:16]} at {result['commit']} ({result['machine']}; load average before "
            f"{load}) with `{result['written_by']}`:", "",
            "| kind | the whole job, s | training | validation (test images) | trainer's start-up | posterior fit "
            "(codes) | the rest | whole / training |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for run in result["runs"]:
        codes = int(run["posterior_codes"].split(", ")[-1].split()[0])
        rows.append(f"| {run['kind']} | {run['job_s']:.1f} | {run['training_s']:.1f} | {run['validation_s']:.1f} "
                    f"({', '.join(f'{n:,}' for n in run['validation_images'])}) | {run['trainer_startup_s']:.1f} | "
                    f"{run['posterior_fit_s']:.1f} ({codes:,}) | {run['rest_s']:.1f} | {run['ratio']:.2f}x |")
    return "\n".join(rows)


def folder_data_table(result: dict) -> str:
    """benchmarks/folder_data.py's figures: images per second of `vae-lab add-dataset` on a folder of JPEGs."""
    load = ", ".join(f"{value:.1f}" for value in result["load_average_before"])
    rows = [f"Measured {result['created'][:16]} at {result['commit']} ({result['machine']}; load average before "
            f"{load}) with `{result['command']}`: {result['images']:,} JPEGs ({result['folder_mb']:g} MB) into a "
            f"{result['size']} px colour data set.", "",
            "| run | seconds | images per second | training / test images |", "| --- | ---: | ---: | ---: |"]
    rows += [f"| {i} | {run['seconds']:.1f} | {run['images_per_s']:.0f} | {run['train']:,} / {run['test']:,} |"
             for i, run in enumerate(result["runs"], 1)]
    return "\n".join(rows)


def random_perceptual_table(result: dict) -> str:
    """benchmarks/random_perceptual.py's figures: the emoji DFC conversion with the classifier's features and with
    a fixed random network's, against the plain VAE they started from."""
    def cells(row: dict) -> str:
        errors = " / ".join(f"{row[f'mse_{c}']:.4f}" for c in ("red", "green", "blue"))
        return (f"{row['laplacian_variance']:.4f} | {row['accuracy']:.2%} | {errors} | {row['fid_samples']:.0f}")
    names = {"random": "a fixed random network"}
    rows = ["| perceptual network | Laplacian variance | read as the right category | error, red / green / blue | "
            "FD prior | sharper than the plain VAE? (paired t-test) | training |",
            "| --- | ---: | ---: | ---: | ---: | --- | ---: |",
            f"| none (the plain VAE it starts from) | {cells(result['plain'])} | | |"]
    for row in result["rows"]:
        test = row["sharper_than_plain"]
        rows.append(f"| {names.get(row['network'], row['network'])} | {cells(row)} | d_z {test['cohens_dz']:.2f}, "
                    f"p = {test['t_p_value']:.2g}, {test['fraction_sharper']:.1%} of images | "
                    f"{row['images_seen']:,} images, {row['seconds']:.0f} s |")
    together = "side by side, one thread each" if result["parallel"] else "one after the other, one thread each"
    return "\n".join(rows + ["", f"`{result['command']}` on {result['created'][:10]} at {result['commit']} "
                                  f"({result['epochs']} epochs each, trained {together}; {result['test_images']} "
                                  f"test images, judged by the shipped emoji classifier)."])


def load_table(result: dict) -> str:
    """benchmarks/load.py's figures: per N, the errors, every interaction's p50/p95 without and with a job
    training, and the server's peak memory."""
    load = ", ".join(f"{value:.1f}" for value in result["load_average_before"])

    def spread(run: dict, key: str) -> str:
        found = run["overall"].get(key)
        return f"{found['p50_s']:.2f} / {found['p95_s']:.2f} ({found['count']})" if found else "-"

    rows = [f"Measured {result['created'][:16]} at {result['commit']} ({result['machine']}; load average before "
            f"{load}) with `{result['command']}`, the job capped at {result['job_minutes']:g} min:", "",
            "| ordinary visitors | their errors | the hostile visitor's errors on its own pages | every interaction, "
            "p50 / p95 s (count): no job training | a job training | server peak memory |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for run in result["runs"]:
        hostile = str(len(run["hostile_errors"])) if run["hostile"] else "(none)"
        rows.append(f"| {run['visitors']} | {len(run['errors'])} | {hostile} | {spread(run, 'without_job')} | "
                    f"{spread(run, 'with_job')} | {run['server_peak_memory_mb'] or '-':,} MB |")
    return "\n".join(rows)


def quick_recipes_table(runs: dict[str, list[dict]]) -> str:
    """One row per recorded run of a quick recipe: what it reached and where its time went."""
    rows = ["| recipe | measured | precision | images | reached | training s | whole run s | load before |",
            "| --- | --- | --- | ---: | --- | ---: | ---: | --- |"]
    for kind, kept in runs.items():
        for run in kept:
            load = ", ".join(f"{value:.1f}" for value in run["load_average_before"])
            rows.append(f"| {kind} (from {(run['init_from'] or {}).get('name', 'scratch')}) | {run['created'][:16]} "
                        f"({run['commit']}) | {run['precision']} | {run['images']:,} | "
                        f"{quick_record.quality(kind, [run])} | {run['training_s']:.0f} | {run['wall_s']:.0f} | "
                        f"{load} |")
    return "\n".join(rows)


def landing_table(result: dict, space: dict | None = None) -> str:
    """benchmarks/landing.py's figures against the lesson's bars, and a fresh Space container's first visit
    (.ci/space_checks.py's record) where there is one."""
    warm, crowd, empty = result["warm_visits_s"], result["concurrent"], result["empty_streamlit_page"]
    load = ", ".join(f"{value:.1f}" for value in result["load_average_before"])
    return "\n".join([
        f"Measured {result['created'][:16]} at {result['commit']} ({result['machine']}; load average before "
        f"{load}) with `{result['command']}`:", "",
        "| what | measured | bar |", "| --- | --- | --- |",
        *([f"| a fresh Space container (`{space['command']}`: the image built, run and visited from outside, "
           f"{space['created'][:16]} at {space['commit']}): first request to a settled landing page | "
           f"{space['landing_page_settled_s']:.2f} s | 3 s |"] if space else []),
        f"| a fresh server (`vae-lab app`, empty caches): first request to a settled landing page | "
        f"{result['first_visit_s']:.2f} s | 5 s |",
        f"| a warm visit: a new browser session | {min(warm):.2f}-{max(warm):.2f} s (median "
        f"{float(np.median(warm)):.2f} s, {len(warm)} visits) | 1.5 s |",
        f"| the server's CPU per warm view | {result['cpu_s_per_warm_view']:.2f} s: about "
        f"{result['visitors_per_minute_on_2_cpus']:.0f} views a minute on 2 vCPUs | |",
        f"| the browser's CPU per warm view (Chromium, all its processes) | "
        f"{result['browser_cpu_s_per_warm_view']:.2f} s | |",
        f"| the floor: a warm visit to a one-line Streamlit page, same settings and machine | "
        f"{min(empty['visits_s']):.2f}-{max(empty['visits_s']):.2f} s, {empty['browser_cpu_s_per_view']:.2f} s of "
        f"the browser's CPU | |",
        f"| {crowd['sessions']} browser sessions at once, on the same 2 cores as the server | p50 "
        f"{crowd['p50_s']:.1f} s, p95 {crowd['p95_s']:.1f} s, {len(crowd['errors'])} errors | p95 5 s, 0 errors |",
        *([f"| the least time their CPU work needs on these cores ({crowd['sessions']} x the server's and the "
           f"browser's CPU per warm view, over all the cores); how busy the cores were meanwhile | "
           f"{crowd['cpu_floor_s']:.1f} s; {crowd['cores_busy_share']:.0%} busy | |"]
          if "cpu_floor_s" in crowd else [])])


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
