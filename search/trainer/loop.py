"""The training loop: one epoch of training, one pass of evaluation, epoch after epoch."""

from __future__ import annotations

import contextlib
import gc
import math
import random
import time
from collections.abc import Callable, Iterator

import torch

from search import faults
from search.trainer.config import TrainConfig
from search.trainer.data.augment import image_augmented, mixes
from search.trainer.data.dataset import Dataset
from search.trainer.data.feed import Feed
from search.trainer.data.load import load_dataset
from search.trainer.data.resolve import resolve_data_config
from search.trainer.device import peak_memory_bytes, select_device
from search.trainer.losses import create_loss
from search.trainer.metric_registry import METRICS
from search.trainer.metrics import ConfusionCounter, Metrics
from search.trainer.model import build_model, load_weights_into
from search.trainer.optim import clip_gradients, create_optimizer
from search.trainer.schedule import create_schedule
from search.trainer.steps import BatchProgress, EpochResult, NonFiniteLossError

MIN_MICRO_BATCH = 2
"""The smallest micro-batch an out-of-memory retry goes down to."""


class Trainer:
    """Trains one model under one TrainConfig. Knows nothing of search: the caller drives `fit`."""

    def __init__(
        self, config: TrainConfig, dataset: Dataset | None = None, *, metric: str = "val_macro_f1"
    ) -> None:
        self.config = config
        self.metric = metric
        """The validation metric a plateau schedule watches (the study's), a record() key."""
        self.dataset = (
            dataset
            if dataset is not None
            else load_dataset(
                resolve_data_config(config.data, config.model), whole=image_augmented(config)
            )
        )
        self.device = select_device(config.device)
        self.cuda = self.device.type == "cuda"
        torch.manual_seed(config.seed)
        random.seed(config.seed)  # timm's random crops draw from Python's generator
        model, self.starting_weights = build_model(
            config.model,
            num_classes=self.dataset.num_classes,
            in_chans=self.dataset.in_chans,
            pretrained=config.model_pretrained,
            weights=config.model_weights,
            drop_rate=config.drop,
            drop_path_rate=config.drop_path,
            drop_block_rate=config.drop_block,
            image_size=self.dataset.size,
        )
        # Channels-last suits cuDNN and oneDNN alike: on 2 CPU cores, with the fused optimizer,
        # test_resnet trains at 1.4x a plain loop's images per second (docs/benchmarks.md), and
        # efficientnet_b0 steps 1.5x faster; models without convolutions are unaffected.
        self.model = model.to(self.device, memory_format=torch.channels_last)
        self.forward = torch.compile(self.model) if config.compile and self.cuda else self.model
        self.loss_fn = create_loss(config, self.dataset.class_counts()).to(self.device)
        # Mixup's soft targets train; validation always scores hard labels.
        self.eval_loss_fn = (
            torch.nn.CrossEntropyLoss().to(self.device) if mixes(config) else self.loss_fn
        )
        self.optimizer = create_optimizer(self.model, config)
        self.scheduler = create_schedule(
            self.optimizer, config, maximize=METRICS.get(metric).direction == "maximize"
        )
        self.generator = torch.Generator().manual_seed(config.seed)
        self.feed = Feed(config, self.dataset, self.device, self.generator)
        self.epoch = 0
        self.micro_batch = config.batch_size
        self.accumulation = 1
        self.oom_retries: list[dict[str, int]] = []
        """Each time the batch was split after running out of memory: epoch, micro-batch, steps."""
        self.train_seconds = 0.0
        self.images_trained = 0
        self.parameters = sum(p.numel() for p in self.model.parameters())
        self.on_batch: Callable[[BatchProgress], None] | None = None
        """Called after every training batch (a progress display); it must be cheap."""

    def _autocast(self):
        if self.cuda:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @property
    def lr(self) -> float:
        """The mean learning rate over the parameter groups, as train.py logs it."""
        groups = self.optimizer.param_groups
        return sum(group["lr"] for group in groups) / len(groups)

    def train_one_epoch(self) -> float:
        """Train one pass over the training split; returns the mean training loss.

        Out of CUDA memory, the pass starts again with half the micro-batch and twice the
        gradient-accumulation steps (the same effective batch), down to MIN_MICRO_BATCH.
        """
        while True:
            try:
                return self._train_pass()
            except torch.cuda.OutOfMemoryError:
                if self.micro_batch // 2 < MIN_MICRO_BATCH:
                    raise
                self.optimizer.zero_grad(set_to_none=True)
                gc.collect()
                if self.cuda:
                    torch.cuda.empty_cache()
                self.micro_batch //= 2
                self.accumulation *= 2
                self.feed.set_batch_size(self.micro_batch)
                self.oom_retries.append(
                    {
                        "epoch": self.epoch + 1,
                        "micro_batch": self.micro_batch,
                        "accumulation": self.accumulation,
                    }
                )

    def _train_pass(self) -> float:
        self.model.train()
        start = time.perf_counter()
        loss_sum = torch.zeros((), device=self.device)
        seen = 0
        self.optimizer.zero_grad(set_to_none=True)
        batches = self.feed.train_batches
        for step, (x, y) in enumerate(self.feed.train(), start=1):
            if faults.out_of_memory(len(y)):
                raise torch.cuda.OutOfMemoryError(f"simulated: micro-batch {len(y)}")
            with self._autocast():
                loss = self.loss_fn(self.forward(x), y)
            (loss / self.accumulation).backward()
            if step % self.accumulation == 0:
                self._optimizer_step()
            loss_sum += loss.detach() * len(y)
            seen += len(y)
            if self.on_batch is not None:
                speed = seen / max(time.perf_counter() - start, 1e-9)
                self.on_batch(
                    BatchProgress(self.epoch + 1, self.config.epochs, step, batches, speed)
                )
        if step % self.accumulation:  # the epoch's last, partial accumulation
            self._optimizer_step()
        self.train_seconds += time.perf_counter() - start
        self.images_trained += seen
        # One sync per epoch rather than per step; a NaN anywhere poisons the sum.
        mean_loss = loss_sum.item() / max(1, seen)
        if not math.isfinite(mean_loss):
            raise NonFiniteLossError(
                f"training loss became {mean_loss} in epoch {self.epoch + 1} "
                f"(lr={self.lr:.3g}, batch_size={self.config.batch_size}, loss={self.config.loss})"
            )
        return mean_loss

    def _optimizer_step(self) -> None:
        clip_gradients(self.model, self.config)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def cost(self) -> dict[str, float]:
        """What training has cost so far: seconds, throughput, peak memory, parameters."""
        peak = peak_memory_bytes(self.device)
        return {
            "train_seconds": round(self.train_seconds, 3),
            "images_per_second": round(self.images_trained / max(self.train_seconds, 1e-9), 1),
            "peak_memory_mb": round(peak / 2**20, 1),
            "parameters": self.parameters,
        }

    @torch.inference_mode()
    def evaluate(self, split: str = "val") -> Metrics:
        self.model.eval()
        counter = ConfusionCounter(self.dataset.num_classes, self.device)
        for x, y in self.feed.eval(split):
            with self._autocast():
                logits = self.forward(x).float()
            counter.update(logits, y, self.eval_loss_fn(logits, y))
        return counter.compute()

    def fit(self, epochs: int | None = None) -> Iterator[EpochResult]:
        """Train up to `epochs` (the config's by default), yielding after each validated epoch."""
        total = epochs if epochs is not None else self.config.epochs
        while self.epoch < total:
            start = time.perf_counter()
            lr = self.lr
            train_loss = self.train_one_epoch()
            val = self.evaluate("val")
            self.epoch += 1
            self.scheduler.step(self.epoch, val.value(self.metric))
            yield EpochResult(self.epoch, train_loss, lr, val, time.perf_counter() - start)

    def weights(self) -> dict[str, torch.Tensor]:
        """A CPU copy of the model's weights, safe to keep while training goes on."""
        return {
            k: v.detach().to("cpu", copy=True).contiguous()
            for k, v in self.model.state_dict().items()
        }

    def training_state(self) -> dict:
        """Everything needed to resume: weights, optimizer, scheduler, epoch and RNG states."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "epoch": torch.tensor(self.epoch),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
        }

    def load_training_state(self, state: dict) -> None:
        load_weights_into(self.model, state["model"], "the saved training state")
        self.optimizer.load_state_dict(state["optimizer"])
        if state["scheduler"]:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = int(state["epoch"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
