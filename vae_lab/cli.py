"""`python -m vae_lab train | evaluate`: the command line over the same code the app uses."""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import MISSING, asdict, fields
from pathlib import Path

import torch

from . import checkpoints
from .train import KINDS, TrainConfig, TrainEvent, pick_device, train

HELP = {
    "kind": f"what to train: {', '.join(KINDS)}",
    "epochs": "epochs (default: the kind's recipe)",
    "batch_size": "batch size (default: the kind's recipe)",
    "kl_warmup_steps": "steps over which the KL weight ramps up to beta (default: the kind's recipe)",
    "name": "checkpoint name (default: the kind)",
    "train_limit": "use only the first N training images (0 = all)",
    "test_limit": "validate on only the first N test images (0 = all)",
    "critic_steps": "critic updates per VAE update (default: the kind's recipe: hinge 1, wgan 2)",
    "gamma": "weight of the generator loss, times the adaptive weight (default: the kind's recipe)",
}
TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def _config_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field, defaulting to None so a resumed recipe can be overridden."""
    for f in fields(TrainConfig):
        default = f.default if f.default is not MISSING else f.default_factory()
        annotation = str(f.type).split(" |")[0]  # "int | None" -> "int", "list[float]" stays
        flag = "--" + f.name.replace("_", "-")
        shown = "" if default in (None, "") else f" (default: {default})"
        help_text = HELP.get(f.name, f.name.replace("_", " ")) + shown
        if annotation == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif annotation.startswith("list["):
            parser.add_argument(flag, nargs="+", type=TYPES[annotation[5:-1]], default=None, help=help_text)
        else:
            parser.add_argument(flag, type=TYPES[annotation], default=None, help=help_text,
                                choices=KINDS if f.name == "kind" else None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vae_lab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train_cmd = commands.add_parser("train", help="train a model and write its checkpoint after every epoch")
    train_cmd.add_argument("--config", type=Path, default=None,
                           help="a JSON recipe (TrainConfig keys); options given here override it")
    _config_arguments(train_cmd)
    train_cmd.add_argument("--out-dir", type=Path, default=None,
                           help="where to write the checkpoint (default: $VAE_LAB_CHECKPOINTS, else ~/.vae_lab/checkpoints)")
    train_cmd.add_argument("--resume", metavar="CHECKPOINT", default=None,
                           help="continue a checkpoint's run with its recipe (options given here override it)")
    train_cmd.add_argument("--events", type=Path, default=None,
                           help="also append every progress event to this file as JSON lines")
    train_cmd.add_argument("--preview", type=Path, default=None,
                           help="after each epoch, write reconstructions of fixed test digits to this PNG")
    train_cmd.add_argument("--quiet", action="store_true", help="no progress bar")

    evaluate_cmd = commands.add_parser("evaluate", help="test-set metrics of checkpoints")
    evaluate_cmd.add_argument("names", nargs="*", help="checkpoint names or paths (default: all)")
    evaluate_cmd.add_argument("--limit", type=int, default=0, help="only the first N test images (0 = all)")
    evaluate_cmd.add_argument("--device", default="cpu")
    evaluate_cmd.add_argument("--json", action="store_true", help="print JSON instead of a table")
    report_cmd = commands.add_parser("report", help="the notebook's blur experiment for every MNIST model")
    report_cmd.add_argument("--out", type=Path, required=True, help="folder for report.html, PNG, CSV and JSON")
    report_cmd.add_argument("--models", nargs="+", default=None, help="checkpoint names (default: every MNIST VAE)")
    report_cmd.add_argument("--limit", type=int, default=0, help="only the first N test images (0 = all)")
    report_cmd.add_argument("--device", default="cpu")
    return parser


def config_from_args(args: argparse.Namespace) -> tuple[TrainConfig, checkpoints.Checkpoint | None]:
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None}
    base = json.loads(args.config.read_text()) if args.config else {}
    if args.resume:
        ckpt = checkpoints.find(args.resume)
        return TrainConfig.from_dict(ckpt.meta["recipe"] | base | given), ckpt
    return TrainConfig.from_dict(base | given), None


class ProgressBar:
    """A one-line progress bar on stderr, redrawn on every step event."""

    def __init__(self, stream=None, width: int = 28):
        self.stream, self.width = stream or sys.stderr, width

    def __call__(self, event: TrainEvent) -> None:
        if event.event == "step":
            done = event.step / event.total_steps
            filled = int(self.width * done)
            loss = event.metrics.get("loss", float("nan"))
            rate = event.images_per_s
            line = (f"\repoch {event.epoch}/{event.epochs} [{'#' * filled}{'.' * (self.width - filled)}] "
                    f"{100 * done:5.1f}% loss {loss:9.4f} {rate:8,.0f} img/s")
            self.stream.write(line)
        elif event.event == "epoch":
            shown = "  ".join(f"{k} {v:.4g}" for k, v in event.metrics.items())
            self.stream.write(f"\repoch {event.epoch}/{event.epochs} done in {event.elapsed_s:.0f}s: {shown}\n")
        self.stream.flush()


class EpochPreview:
    """After each epoch, reconstructions of the first test image of each class, written to a PNG
    (originals on top): how a training job shows its progress."""

    def __init__(self, path: Path, dataset: str):
        from .data import load_split
        split = load_split(dataset, train=False)
        self.path, self.originals = path, split.batch(torch.tensor(split.one_per_class()))[0]

    def __call__(self, event: TrainEvent) -> None:
        if event.event != "epoch":
            return
        from .images import image_grid, png_bytes
        model = checkpoints.load(event.checkpoint)
        rows = [self.originals]
        if hasattr(model, "reconstruct"):
            with torch.no_grad():
                rows.append(model.reconstruct(self.originals))
        checkpoints.atomic_write(self.path, lambda tmp: tmp.write_bytes(png_bytes(image_grid(rows, scale=2))))


def run_train(args: argparse.Namespace) -> int:
    config, resume = config_from_args(args)
    device = pick_device(config.device)
    print(f"training {config.kind} '{config.name}' on {config.dataset} with {device}", file=sys.stderr)
    listeners = [] if args.quiet else [ProgressBar()]
    if args.events:
        args.events.parent.mkdir(parents=True, exist_ok=True)
        events_file = open(args.events, "a", buffering=1)
        listeners.append(lambda event: events_file.write(json.dumps(asdict(event)) + "\n"))
    if args.preview:
        listeners.append(EpochPreview(args.preview, config.dataset))
    result = train(config, out_dir=args.out_dir, resume=resume,
                   progress=lambda event: [listen(event) for listen in listeners])
    summary = {"checkpoint": str(result.checkpoint.json_path), "images_per_s": round(result.images_per_s, 1),
               "elapsed_s": round(result.elapsed_s, 1), **result.metrics}
    print(json.dumps(summary, indent=2))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from .scorecard import evaluate_checkpoints, format_table
    names = args.names or [c.name for c in checkpoints.available()]
    start = time.perf_counter()
    rows = evaluate_checkpoints(names, device=args.device, limit=args.limit)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(format_table(rows))
        print(f"({len(rows)} checkpoint(s), {time.perf_counter() - start:.1f}s)", file=sys.stderr)
    return 0


def run_report(args: argparse.Namespace) -> int:
    from .report import write_report
    start = time.perf_counter()
    page = write_report(args.out, names=args.models, limit=args.limit, device=args.device)
    print(f"wrote {page} and its figures and tables in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"train": run_train, "evaluate": run_evaluate, "report": run_report}[args.command](args)
    except (checkpoints.CheckpointError, FileNotFoundError, ValueError, AssertionError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
