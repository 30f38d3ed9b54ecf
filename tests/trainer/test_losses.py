"""Each loss against a value computed by hand from its definition."""

import math

import pytest
import torch
import torch.nn.functional as F

from search.trainer.config import TrainConfig
from search.trainer.losses import LOSSES, create_loss, inverse_frequency_weights

LOGITS = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0], [1.0, 1.0, 1.0], [-2.0, 4.0, 0.0]])
TARGET = torch.tensor([0, 2, 1, 0])
COUNTS = torch.tensor([30, 10, 5])


def _log_p_true() -> list[float]:
    out = []
    for row, t in zip(LOGITS.tolist(), TARGET.tolist()):
        z = sum(math.exp(v) for v in row)
        out.append(math.log(math.exp(row[t]) / z))
    return out


def test_cross_entropy_is_mean_negative_log_likelihood():
    expected = -sum(_log_p_true()) / 4
    loss = create_loss(TrainConfig(loss="ce"), COUNTS)(LOGITS, TARGET)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_label_smoothing_mixes_nll_with_uniform():
    eps = 0.2
    log_probs = F.log_softmax(LOGITS, dim=-1)
    expected = (
        (1 - eps) * -log_probs.gather(1, TARGET[:, None]).squeeze(1) - eps * log_probs.mean(-1)
    ).mean()
    loss = create_loss(TrainConfig(loss="label_smoothing", smoothing=eps), COUNTS)(LOGITS, TARGET)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_focal_with_gamma_zero_equals_cross_entropy():
    focal = create_loss(TrainConfig(loss="focal", focal_gamma=0.0), COUNTS)(LOGITS, TARGET)
    ce = create_loss(TrainConfig(loss="ce"), COUNTS)(LOGITS, TARGET)
    assert focal.item() == pytest.approx(ce.item(), rel=1e-6)


def test_focal_by_hand():
    gamma = 2.0
    expected = sum(-((1 - math.exp(lp)) ** gamma) * lp for lp in _log_p_true()) / 4
    loss = create_loss(TrainConfig(loss="focal", focal_gamma=gamma), COUNTS)(LOGITS, TARGET)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_class_weighted_focal_weights_rare_classes_up():
    gamma = 1.0
    w = inverse_frequency_weights(COUNTS).tolist()
    terms = [-((1 - math.exp(lp)) ** gamma) * lp for lp in _log_p_true()]
    weights = [w[t] for t in TARGET.tolist()]
    expected = sum(wi * ti for wi, ti in zip(weights, terms)) / sum(weights)
    config = TrainConfig(loss="focal", focal_gamma=gamma, focal_class_weighted=True)
    assert create_loss(config, COUNTS)(LOGITS, TARGET).item() == pytest.approx(expected, rel=1e-6)


def test_inverse_frequency_weights():
    w = inverse_frequency_weights(COUNTS)
    assert w.mean().item() == pytest.approx(1.0)
    # Proportional to 1/count: 30, 10, 5 -> 1, 3, 6.
    assert (w / w[0]).tolist() == pytest.approx([1.0, 3.0, 6.0])


def test_weighted_cross_entropy_by_hand():
    w = inverse_frequency_weights(COUNTS).tolist()
    lps = _log_p_true()
    weights = [w[t] for t in TARGET.tolist()]
    expected = sum(-wi * lp for wi, lp in zip(weights, lps)) / sum(weights)
    loss = create_loss(TrainConfig(loss="weighted_ce"), COUNTS)(LOGITS, TARGET)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_soft_f1_by_hand_and_near_zero_when_perfect():
    probs = LOGITS.softmax(-1).tolist()
    f1s = []
    for c in range(3):
        tp = sum(p[c] for p, t in zip(probs, TARGET.tolist()) if t == c)
        fp = sum(p[c] for p, t in zip(probs, TARGET.tolist()) if t != c)
        fn = sum(1 - p[c] for p, t in zip(probs, TARGET.tolist()) if t == c)
        f1s.append(2 * tp / (2 * tp + fp + fn))
    loss_fn = create_loss(TrainConfig(loss="soft_f1"), COUNTS)
    assert loss_fn(LOGITS, TARGET).item() == pytest.approx(1 - sum(f1s) / 3, rel=1e-5)
    perfect = F.one_hot(torch.tensor([0, 1, 2]), 3).float() * 50
    assert loss_fn(perfect, torch.tensor([0, 1, 2])).item() < 1e-4


@pytest.mark.parametrize("name", LOSSES.names())
def test_every_loss_is_differentiable_and_finite(name):
    logits = LOGITS.clone().requires_grad_()
    loss = create_loss(TrainConfig(loss=name), COUNTS)(logits, TARGET)
    loss.backward()
    assert torch.isfinite(loss) and logits.grad is not None and logits.grad.abs().sum() > 0
