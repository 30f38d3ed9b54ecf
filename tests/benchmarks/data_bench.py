"""Data pipeline figures for `make bench`: stream against memory, and data over the budget.

Both run on a generated CSV dataset (tests/shapes.py), in fresh processes, so that peak RSS
belongs to one pipeline alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

_TRAIN = r"""
import json, resource, sys, time
sys.path.insert(0, %(repo)r)
import torch, timm
from search.trainer.config import DataConfig, TrainConfig
from search.trainer.loop import Trainer
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
data = DataConfig(csv=%(csv)r, path_column="file", label_columns=("shape", "colour"),
                  image_size=%(size)d, cache=%(cache)r, memory_gb=%(budget)r)
start = time.perf_counter()
trainer = Trainer(TrainConfig(data=data, epochs=%(epochs)d, batch_size=64, device="cpu"))
seen = 0
if %(train)r:
    for result in trainer.fit():
        seen += len(trainer.dataset.train)
else:  # the pipeline alone: one pass of training batches
    for x, y in trainer.feed.train():
        seen += len(y)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"cache": trainer.dataset.cache, "why": trainer.dataset.cache_reason,
                  "img_per_s": seen / seconds, "peak_rss_mb": peak, "worker_peak_rss_mb": workers, "base_rss_mb": base,
                  "images": len(trainer.dataset.train)}))
"""


def _train(
    csv: Path, *, size: int, cache: str, budget: float | None, epochs: int, train: bool = True
) -> dict:
    script = _TRAIN % {
        "train": train,
        "repo": str(REPO),
        "csv": str(csv),
        "size": size,
        "cache": cache,
        "budget": budget,
        "epochs": epochs,
    }
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _dataset(tmp: Path, makers: int, size: int) -> Path:
    sys.path.insert(0, str(REPO))
    from tests.shapes import make_shapes

    return make_shapes(tmp / "shapes", makers=makers, per_maker=30, size=size)


def bench_stream_vs_memory(makers: int = 40, size: int = 64, epochs: int = 2) -> dict[str, Any]:
    """Throughput of the stream pipeline against the memory one, on data that fits both."""
    with tempfile.TemporaryDirectory() as tmp:
        csv = _dataset(Path(tmp), makers, size)
        memory = _train(csv, size=size, cache="memory", budget=None, epochs=epochs)
        stream = _train(csv, size=size, cache="stream", budget=None, epochs=epochs)
    return {
        "images": memory["images"],
        "size": size,
        "memory_img_per_s": round(memory["img_per_s"]),
        "stream_img_per_s": round(stream["img_per_s"]),
        "ratio": round(stream["img_per_s"] / memory["img_per_s"], 3),
        "target": "(measured; stream pays for decoding every epoch)",
    }


def bench_over_budget(makers: int = 100, size: int = 224) -> dict[str, Any]:
    """Data larger than a (deliberately low) memory budget streams, with its peak RSS bounded.

    RSS is counted above the process's own after importing torch and timm, over one pass of
    the training pipeline (decoding, transforms, batching), the model idle.
    """
    with tempfile.TemporaryDirectory() as tmp:
        csv = _dataset(Path(tmp), makers, size)
        images = makers * 30
        decoded = images * 3 * size * size
        budget_gb = decoded / 4 / 1e9  # a quarter of the decoded images
        stream = _train(csv, size=size, cache="auto", budget=budget_gb, epochs=1, train=False)
        memory = _train(csv, size=size, cache="memory", budget=None, epochs=1, train=False)
    grown = {
        name: run["peak_rss_mb"] - run["base_rss_mb"]
        for name, run in (("stream", stream), ("memory", memory))
    }
    return {
        "images": images,
        "decoded_mb": round(decoded / 1e6),
        "budget_mb": round(budget_gb * 1e3),
        "chosen": stream["cache"],
        "stream_rss_growth_mb": round(grown["stream"]),
        "stream_worker_peak_rss_mb": round(stream["worker_peak_rss_mb"]),
        "memory_rss_growth_mb": round(grown["memory"]),
        "ratio": round(grown["stream"] / grown["memory"], 3),
        "target": "stream chosen; its growth well under the decoded size",
    }


def _photos(folder: Path, count: int, side: int) -> list[str]:
    """JPEGs with a photo's texture (smooth noise, 4:3): slower to decode than flat shapes."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    files = []
    for i in range(count):
        coarse = rng.integers(0, 255, (side // 8, side // 8, 3), dtype=np.uint8)
        image = Image.fromarray(coarse).resize((side, side * 3 // 4), Image.BICUBIC)
        files.append(str(folder / f"{i}.jpg"))
        image.save(files[-1], quality=90)
    return files


def bench_decode(makers: int = 130) -> dict[str, Any]:
    """Decoding a dataset into memory: one thread, torch's threads, and the measured choice.

    The memory cache decodes every image once per process, before the first trial trains; on
    a large dataset that is the first minute a user waits. Two kinds of data: the suite's flat
    24 px PNG shapes, and 160 px JPEGs with a photo's texture resized to 224.
    """
    import time

    import torch

    from search.trainer.data.augment import eval_transform
    from search.trainer.data.decode import decode_all
    from search.trainer.data.pipeline import open_image

    threads = torch.get_num_threads()
    out: dict[str, Any] = {"threads": threads, "kinds": {}}
    with tempfile.TemporaryDirectory() as tmp:
        csv = _dataset(Path(tmp), makers, 24)
        kinds = {
            "24 px PNG shapes": (sorted(map(str, (csv.parent / "images").glob("*.png"))), 24),
            "160 px JPEG photos": (_photos(Path(tmp) / "photos", 4000, 160), 224),
        }
        for kind, (files, size) in kinds.items():
            transform = eval_transform(size, 1.0, "bilinear")

            def timed(n: int | None, files=files, transform=transform) -> float:
                start = time.perf_counter()
                for _ in decode_all(files, lambda f: transform(open_image(f, 3)), threads=n):
                    pass
                return time.perf_counter() - start

            timed(1)  # the page cache warm for all three
            one, pool, chosen = (min(timed(n) for _ in range(2)) for n in (1, threads, None))
            out["kinds"][kind] = {
                "images": len(files),
                "one_thread_s": round(one, 3),
                "threads_s": round(pool, 3),
                "chosen_s": round(chosen, 3),
                "ratio": round(one / chosen, 3),
            }
    return out
