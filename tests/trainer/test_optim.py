"""Every optimizer builds and steps; every scheduler follows its LR trajectory."""

import math

import pytest
import torch
from timm.optim import create_optimizer_v2

from search.trainer.config import TrainConfig
from search.trainer.optim import FUSED, OPTIMIZERS, create_optimizer
from search.trainer.schedule import SCHEDULERS, create_schedule
from search.yaml_dataclasses import FieldError


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Linear(4, 3)


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimizer_reduces_a_loss(name):
    model = _model()
    optimizer = create_optimizer(model, TrainConfig(opt=name, lr=0.01))
    x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01)


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_fused_kernels_where_torch_has_them(name):
    optimizer = create_optimizer(_model(), TrainConfig(opt=name))
    assert bool(optimizer.defaults.get("fused")) == (name in FUSED)


def test_the_fused_adamw_steps_as_torchs_default_does():
    config = TrainConfig(opt="adamw", lr=0.01, weight_decay=0.05)
    fused, plain = _model(), _model()
    optimizers = [
        create_optimizer(fused, config),
        create_optimizer_v2(plain, opt="adamw", lr=0.01, weight_decay=0.05),
    ]
    assert not optimizers[1].defaults.get("fused")
    x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    for _ in range(5):
        for model, optimizer in zip((fused, plain), optimizers):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
    assert not torch.equal(fused.weight, _model().weight)
    for a, b in zip(fused.parameters(), plain.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_momentum_reaches_the_optimizer():
    optimizer = create_optimizer(_model(), TrainConfig(opt="momentum", lr=0.1, momentum=0.7))
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.param_groups[0]["momentum"] == 0.7
    assert optimizer.param_groups[0]["nesterov"] is False
    assert (
        create_optimizer(_model(), TrainConfig(opt="sgd", momentum=0.7)).param_groups[0]["nesterov"]
        is True
    )


def _trajectory(config: TrainConfig, metrics: list[float]) -> list[float]:
    optimizer = create_optimizer(_model(), config)
    scheduler = create_schedule(optimizer, config)
    lrs = []
    for epoch, metric in enumerate(metrics, 1):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step(epoch, metric)
    return lrs


def test_step_trajectory():
    config = TrainConfig(opt="adam", lr=1.0, sched="step", decay_epochs=2, decay_rate=0.5, epochs=6)
    assert _trajectory(config, [0.0] * 6) == pytest.approx([1.0, 1.0, 0.5, 0.5, 0.25, 0.25])


def test_cosine_trajectory_anneals_towards_min_lr_over_the_epochs():
    config = TrainConfig(opt="adam", lr=1.0, sched="cosine", min_lr=0.1, epochs=4)
    # timm's cosine: lr at epoch t is min + (max - min) (1 + cos(pi t / T)) / 2.
    expected = [0.1 + 0.9 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(4)]
    assert _trajectory(config, [0.0] * 4) == pytest.approx(expected)


def test_plateau_steps_on_the_validation_metric():
    config = TrainConfig(
        opt="adam", lr=1.0, sched="plateau", decay_rate=0.5, patience_epochs=1, epochs=8
    )
    # Improving metric: no decay. Then two epochs without improvement (patience 1): halve.
    metrics = [0.1, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]
    assert _trajectory(config, metrics) == pytest.approx([1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.25])


@pytest.mark.parametrize("sched", ["constant", "none"])
def test_constant_keeps_lr(sched):
    assert _trajectory(TrainConfig(lr=0.3, sched=sched), [0.0] * 3) == pytest.approx([0.3] * 3)


def test_warmup_counts_inside_the_schedule_as_timm_does():
    config = TrainConfig(
        opt="adam", lr=1.0, sched="cosine", min_lr=0.0, epochs=6, warmup_epochs=2, warmup_lr=0.2
    )
    # Warmup rises from warmup_lr towards lr over its epochs; the cosine runs over all six
    # epochs from the start (not after warmup), so after warmup it is already part way down.
    cosine = [(1 + math.cos(math.pi * t / 6)) / 2 for t in range(2, 6)]
    assert _trajectory(config, [0.0] * 6) == pytest.approx([0.2, 0.6, *cosine])
    plateau = TrainConfig(
        opt="adam",
        lr=1.0,
        sched="plateau",
        epochs=4,
        warmup_epochs=1,
        warmup_lr=0.5,
        patience_epochs=0,
    )
    assert _trajectory(plateau, [0.3] * 4) == pytest.approx([0.5, 1.0, 1.0, 0.1])


def test_layer_decay_gives_earlier_layers_smaller_rates():
    import timm

    model = timm.create_model("test_vit", num_classes=3)
    config = TrainConfig(opt="adamw", lr=1.0, layer_decay=0.5)
    optimizer = create_optimizer(model, config)
    create_schedule(optimizer, config)  # timm's scheduler applies each group's lr_scale, as in train.py
    rates = sorted({round(g["lr"], 6) for g in optimizer.param_groups})
    assert len(rates) > 2 and rates[-1] == 1.0 and rates[0] < 0.1


def test_every_scheduler_is_tested():
    assert set(SCHEDULERS.names()) == {"constant", "none", "step", "cosine", "plateau"}


def test_nesterov_sgd_without_momentum_is_refused_where_plain_sgd_trains():
    # timm's sgd is Nesterov's; torch would refuse it inside every trial.
    with pytest.raises(FieldError, match="opt: momentum with momentum: 0"):
        TrainConfig(opt="sgd", momentum=0.0)
    config = TrainConfig(opt="momentum", momentum=0.0)
    optimizer = create_optimizer(torch.nn.Linear(2, 2), config)
    assert optimizer.defaults["momentum"] == 0.0 and not optimizer.defaults["nesterov"]
