"""GPU check: the trainer's CUDA path against a competent plain loop, side by side.

Runs resnet18 and resnet50 at 224 px with bf16 autocast and channels_last on synthetic images
held by each side as it would hold them (the trainer: uint8 on the device; the plain loop: a
pinned CPU DataLoader copied with non_blocking). Prints images per second, the ratio, and the
GPU's utilisation sampled by nvidia-smi. Needs torch, timm and torchmetrics only; fits in one
10-minute device run:

    python -m tests.benchmarks.gpu_check            # or: --models resnet18 --steps 50
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from search.trainer.config import TrainConfig
from search.trainer.data.dataset import Dataset
from search.trainer.data.pipeline import MemorySplit
from search.trainer.loop import Trainer


def synthetic(n: int, size: int, classes: int = 10) -> Dataset:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, classes, (n,), generator=g)
    split = MemorySplit(images, labels)
    small = MemorySplit(images[:256], labels[:256])
    return Dataset(
        split,
        small,
        small,
        classes=tuple(map(str, range(classes))),
        channels=3,
        size=size,
        mean=(0.5,) * 3,
        std=(0.25,) * 3,
        crop_pct=1.0,
        interpolation="bilinear",
        cache="memory",
        cache_reason="synthetic",
    )


class Utilisation:
    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                out = subprocess.run(
                    ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                    capture_output=True,
                    text=True,
                    timeout=5,
                ).stdout
                self.samples.append(float(out.split()[0]))
            except (OSError, ValueError, IndexError, subprocess.SubprocessError):
                pass
            self._stop.wait(0.5)

    def __enter__(self) -> Utilisation:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mean(self) -> float | None:
        return round(sum(self.samples) / len(self.samples), 1) if self.samples else None


def plain_loop(model_name: str, dataset: Dataset, batch_size: int, epochs: int) -> float:
    import timm

    device = torch.device("cuda")
    model = (
        timm.create_model(model_name, num_classes=10)
        .to(device)
        .to(memory_format=torch.channels_last)
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(dataset.train.images, dataset.train.labels),
        batch_size=batch_size,
        shuffle=True,
        pin_memory=True,
        num_workers=4,
        drop_last=True,
    )
    mean = torch.tensor(dataset.mean, device=device).view(1, -1, 1, 1) * 255
    std = torch.tensor(dataset.std, device=device).view(1, -1, 1, 1) * 255
    seen, start = 0, 0.0
    for epoch in range(epochs + 1):  # the first epoch warms up
        if epoch == 1:
            torch.cuda.synchronize()
            start, seen = time.perf_counter(), 0
        for x, y in loader:
            x = (
                x.to(device, non_blocking=True)
                .float()
                .sub_(mean)
                .div_(std)
                .contiguous(memory_format=torch.channels_last)
            )
            y = y.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            seen += len(y)
    torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def ours(
    model_name: str, dataset: Dataset, batch_size: int, epochs: int, compile: bool
) -> tuple[float, dict]:
    config = TrainConfig(
        model=model_name, batch_size=batch_size, epochs=epochs, device="cuda", compile=compile
    )
    trainer = Trainer(config, dataset)
    trainer.train_one_epoch()  # warm-up (and compilation)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(epochs):
        trainer.train_one_epoch()
    torch.cuda.synchronize()
    rate = epochs * len(dataset.train) / (time.perf_counter() - start)
    checks = {
        "param_dtype": str(next(trainer.model.parameters()).dtype),
        "channels_last": trainer.model.conv1.weight.is_contiguous(memory_format=torch.channels_last)
        if hasattr(trainer.model, "conv1")
        else None,
        "data_on_device": str(trainer._split("train").images.device),
        "autocast": "bf16",
    }
    return rate, checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=["resnet18", "resnet50"])
    parser.add_argument("--images", type=int, default=4096)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("-o", "--output", default=None)
    args = parser.parse_args()
    assert torch.cuda.is_available(), "no CUDA device"
    torch.backends.cudnn.benchmark = True
    dataset = synthetic(args.images, 224)
    results = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "rows": []}
    for name in args.models:
        with Utilisation() as util_ours:
            rate, checks = ours(name, dataset, args.batch_size, args.epochs, args.compile)
        with Utilisation() as util_plain:
            plain = plain_loop(name, dataset, args.batch_size, args.epochs)
        row = {
            "model": name,
            "ours_img_per_s": round(rate),
            "plain_img_per_s": round(plain),
            "ratio": round(rate / plain, 3),
            "gpu_util_ours": util_ours.mean,
            "gpu_util_plain": util_plain.mean,
            **checks,
        }
        results["rows"].append(row)
        print(json.dumps(row), flush=True)
        torch.cuda.empty_cache()
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
