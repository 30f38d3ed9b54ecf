"""A checkpoint on new images: predictions (`search predict`) and labelled evaluation.

A checkpoint directory is self-contained: `config.yaml` names the model, `metrics.json` holds
the class names and how images were prepared (size, channels, crop, normalisation), and
`model.safetensors` the weights. Images stream from disk through the eval transform that
training used, so they need not fit in memory; an unreadable one is reported, not fatal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import torch

from search.errors import SearchError
from search.store.checkpoint import CONFIG, METRICS, WEIGHTS
from search.trainer.config import TrainConfig
from search.trainer.data.augment import eval_transform
from search.trainer.data.pipeline import Normalize, open_image
from search.trainer.data.samples import IMAGE_EXTENSIONS
from search.trainer.metrics import ConfusionCounter, Metrics
from search.trainer.model import create_model, load_state_dict, load_weights_into
from search.yaml_dataclasses import load


class Predictor:
    """A checkpoint's model in eval mode, with the preprocessing it was trained with."""

    def __init__(self, directory: str | Path, device: str = "cpu") -> None:
        path = Path(directory)
        for name in (WEIGHTS, CONFIG, METRICS):
            if not (path / name).is_file():
                raise SearchError(f"{path}: not a checkpoint directory (no {name})")
        self.config = load(TrainConfig, str(path / CONFIG))
        prep = json.loads((path / METRICS).read_text()).get("preprocess")
        if prep is None:
            raise SearchError(
                f"{path / METRICS}: no preprocessing recorded (an older checkpoint); train it "
                "again with `search train`"
            )
        self.classes = tuple(prep["classes"])
        self.channels = prep["channels"]
        self.device = torch.device(device)
        size = prep["size"] if isinstance(prep["size"], int) else tuple(prep["size"])
        self.model = create_model(
            self.config.model,
            num_classes=len(self.classes),
            in_chans=self.channels,
            image_size=size,
        )
        load_weights_into(self.model, load_state_dict(str(path / WEIGHTS)), str(path / WEIGHTS))
        self.model.to(self.device).eval()
        self.transform = eval_transform(
            size, prep["crop_pct"], prep["interpolation"], prep.get("crop_mode", "center")
        )
        self._normalize = Normalize(prep["mean"], prep["std"], self.device)

    @torch.inference_mode()
    def probabilities(self, images: torch.Tensor, tta: str | None = None) -> torch.Tensor:
        """Class probabilities of uint8 images; `tta="hflip"` averages in the mirrored image."""
        x = self._normalize(images)
        probs = self.model(x).float().softmax(-1)
        if tta == "hflip":
            probs = (probs + self.model(x.flip(-1)).float().softmax(-1)) / 2
        return probs.cpu()

    def stream(
        self, files: list[str], *, batch_size: int = 64, workers: int = 0, tta: str | None = None
    ) -> Iterator[tuple[list[int], torch.Tensor, list[int]]]:
        """(indices, their probabilities, indices of unreadable files) batch by batch, in order."""
        loader = torch.utils.data.DataLoader(
            _Files(files, self.transform, self.channels),
            batch_size=batch_size,
            num_workers=workers,
            collate_fn=_collate,
        )
        for images, good, bad in loader:
            probs = self.probabilities(images, tta) if good else torch.empty(0, len(self.classes))
            yield good, probs, bad


class _Files(torch.utils.data.Dataset):
    def __init__(self, files: list[str], transform, channels: int) -> None:
        self.files, self.transform, self.channels = files, transform, channels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor | None, int]:
        try:
            return self.transform(open_image(self.files[i], self.channels)), i
        except OSError:
            return None, i


def _collate(items: list[tuple[torch.Tensor | None, int]]):
    good = [(x, i) for x, i in items if x is not None]
    images = torch.stack([x for x, _ in good]) if good else None
    return images, [i for _, i in good], [i for x, i in items if x is None]


def list_images(folder: str) -> list[str]:
    """Every image file under `folder`, sorted."""
    return sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(folder)
        for name in names
        if name.lower().endswith(IMAGE_EXTENSIONS)
    )


def prediction_fields(top_k: int, num_classes: int) -> list[str]:
    """The columns of a predictions CSV."""
    ranks = range(2, min(top_k, num_classes) + 1)
    return [
        "path",
        "class",
        "probability",
        *(f"{name}_{r}" for r in ranks for name in ("class", "probability")),
        "error",
    ]


def prediction_rows(
    predictor: Predictor, files: list[str], *, top_k: int = 1, tta: str | None = None, progress=None
) -> Iterator[dict]:
    """One row per file: path, class, probability, the top k, or the error that stopped it."""
    k = min(top_k, len(predictor.classes))
    for good, probs, bad in predictor.stream(files, tta=tta):
        rows = {}
        for i, p in zip(good, probs):
            values, indices = p.topk(k)
            row = {
                "path": files[i],
                "class": predictor.classes[indices[0]],
                "probability": float(values[0]),
            }
            for rank in range(1, k):
                row[f"class_{rank + 1}"] = predictor.classes[indices[rank]]
                row[f"probability_{rank + 1}"] = float(values[rank])
            rows[i] = {**row, "error": ""}
        for i in bad:
            rows[i] = {"path": files[i], "class": "", "probability": None, "error": "unreadable"}
        for i in sorted(rows):
            yield rows[i]
        if progress is not None:
            progress(len(good) + len(bad))


def evaluate_files(
    predictor: Predictor, files: list[str], labels: list[int]
) -> tuple[Metrics, list[str]]:
    """Metrics (per class, confusion, macro ROC-AUC) on labelled files; and the unreadable."""
    counter = ConfusionCounter(len(predictor.classes))
    target = torch.tensor(labels)
    unreadable: list[str] = []
    for good, probs, bad in predictor.stream(files):
        if good:
            y = target[good]
            logits = probs.clamp(min=1e-12).log()
            counter.update(logits, y, torch.nn.functional.nll_loss(logits, y))
        unreadable += [files[i] for i in bad]
    return counter.compute(), unreadable
