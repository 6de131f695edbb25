"""Optimiser state as plain tensors, for a checkpoint that training can resume from: safetensors holds tensors
only, so each optimiser's per-parameter state goes there and its parameter groups go in the JSON."""
from __future__ import annotations

from collections import defaultdict

import torch


def optimizer_tensors(optimizers: dict[str, torch.optim.Optimizer]) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, groups = {}, {}
    for opt_name, optimizer in optimizers.items():
        state = optimizer.state_dict()
        for index, entries in state["state"].items():
            for key, value in entries.items():
                tensors[f"{opt_name}.{index}.{key}"] = torch.as_tensor(value)
        groups[opt_name] = state["param_groups"]
    return tensors, groups


def restore_optimizers(optimizers: dict[str, torch.optim.Optimizer], tensors: dict[str, torch.Tensor],
                       groups: dict) -> None:
    for opt_name, optimizer in optimizers.items():
        state: dict[int, dict] = defaultdict(dict)
        for key, value in tensors.items():
            owner, index, entry = key.split(".", 2)
            if owner == opt_name:
                state[int(index)][entry] = value
        optimizer.load_state_dict({"state": dict(state), "param_groups": groups[opt_name]})
