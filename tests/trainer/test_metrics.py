import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from search.trainer.metrics import ConfusionCounter, metrics_from_confusion, resampled_se


def _data(n=500, classes=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, classes, (n,), generator=g)
    logits = torch.randn(n, classes, generator=g)
    logits[torch.arange(n), target] += 1.0  # better than chance, not perfect
    return logits, target


def test_macro_metrics_match_sklearn_over_the_whole_set():
    logits, target = _data()
    counter = ConfusionCounter(5)
    for start in range(0, 500, 37):  # uneven batches
        counter.update(logits[start : start + 37], target[start : start + 37])
    m = counter.compute()
    pred = logits.argmax(1).numpy()
    y = target.numpy()
    assert m.macro_f1 == pytest.approx(f1_score(y, pred, average="macro"))
    assert m.accuracy == pytest.approx(accuracy_score(y, pred))
    assert m.macro_precision == pytest.approx(
        precision_score(y, pred, average="macro", zero_division=0)
    )
    assert m.macro_recall == pytest.approx(recall_score(y, pred, average="macro", zero_division=0))


def test_batch_average_of_f1_would_differ():
    # Why confusion counts: averaging per-batch F1 gives another (wrong) number.
    logits, target = _data(n=64, seed=3)
    whole = metrics_from_confusion(_cm(logits, target)).macro_f1
    halves = [
        metrics_from_confusion(_cm(logits[s : s + 8], target[s : s + 8])).macro_f1
        for s in range(0, 64, 8)
    ]
    assert abs(sum(halves) / len(halves) - whole) > 1e-3


def _cm(logits, target, classes=5):
    counter = ConfusionCounter(classes)
    counter.update(logits, target)
    return torch.tensor(counter.compute().confusion)


def test_absent_class_scores_zero_and_per_class_report():
    cm = torch.tensor([[5, 0, 0], [1, 4, 0], [0, 0, 0]])
    m = metrics_from_confusion(cm)
    rows = m.per_class()
    assert rows[2] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert rows[0]["precision"] == pytest.approx(5 / 6) and rows[1]["recall"] == pytest.approx(0.8)
    assert m.accuracy == pytest.approx(0.9)


def test_roc_auc_is_the_hand_computed_macro_one_vs_rest_value():
    # 3 classes, 6 samples, no two scores of a class equal. For class c, AUC = P(score of a positive > score of a negative),
    # ties counting one half, over every positive-negative pair.
    probs = torch.tensor(
        [
            [0.7, 0.2, 0.1],
            [0.45, 0.4, 0.15],
            [0.2, 0.55, 0.25],
            [0.3, 0.35, 0.35],
            [0.1, 0.3, 0.6],
            [0.46, 0.12, 0.42],
        ]
    )
    target = torch.tensor([0, 0, 1, 1, 2, 2])

    def auc(c: int) -> float:
        pos = probs[target == c, c]
        neg = probs[target != c, c]
        wins = sum(float(p > n) + 0.5 * float(p == n) for p in pos for n in neg)
        return wins / (len(pos) * len(neg))

    expected = sum(auc(c) for c in range(3)) / 3
    counter = ConfusionCounter(3)
    counter.update(probs.log(), target)  # logits whose softmax is `probs`
    assert counter.compute().roc_auc == pytest.approx(expected, abs=1e-6)
    from sklearn.metrics import roc_auc_score

    assert expected == pytest.approx(roc_auc_score(target, probs, multi_class="ovr"), abs=1e-9)


def _bootstrap_by_hand(target, pred, metric, draws, seed=0):
    """The textbook bootstrap: resample the images themselves, score each resample with sklearn."""
    g = torch.Generator().manual_seed(seed)
    scores = []
    for _ in range(draws):
        idx = torch.randint(0, len(target), (len(target),), generator=g).numpy()
        scores.append(metric(target.numpy()[idx], pred.numpy()[idx]))
    return torch.tensor(scores).std().item()


@pytest.mark.parametrize(
    "name, metric",
    [
        (
            "macro_f1",
            lambda y, p: f1_score(y, p, average="macro", labels=range(4), zero_division=0),
        ),
        ("accuracy", accuracy_score),
        (
            "macro_recall",
            lambda y, p: recall_score(y, p, average="macro", labels=range(4), zero_division=0),
        ),
    ],
)
def test_resampled_se_is_the_bootstrap_of_the_images_computed_from_the_matrix_alone(name, metric):
    # A small, imbalanced val split: 60, 25, 10 and 5 images, the rarest class half right.
    target = torch.tensor([0] * 60 + [1] * 25 + [2] * 10 + [3] * 5)
    pred = target.clone()
    pred[[0, 1, 2, 60, 61, 85, 86, 95, 96]] = torch.tensor([1, 2, 3, 0, 2, 0, 1, 0, 2])
    confusion = metrics_from_confusion(
        torch.zeros(4, 4).index_put_((target, pred), torch.ones(100), accumulate=True)
    ).confusion
    by_hand = _bootstrap_by_hand(target, pred, metric, draws=1500)
    assert resampled_se(confusion, name, draws=1500) == pytest.approx(by_hand, rel=0.12)


def test_resampled_se_halves_with_four_times_the_images_and_is_reproducible():
    confusion = torch.tensor([[50, 3, 2], [4, 15, 1], [1, 2, 4]])
    small = resampled_se(confusion, "macro_f1")
    assert small == resampled_se(confusion, "macro_f1")  # seeded: the same report every time
    assert 0.02 < small < 0.2
    assert resampled_se(confusion * 4, "macro_f1") == pytest.approx(small / 2, rel=0.2)


def test_resampled_se_is_none_where_the_matrix_does_not_decide():
    confusion = [[5, 1], [2, 4]]
    assert resampled_se(confusion, "loss") is None
    assert resampled_se(confusion, "roc_auc") is None
    assert resampled_se([[0, 0], [0, 0]], "macro_f1") is None
