"""What timm's eval transform keeps of a 384x512 portrait, by input size, crop_pct and mode
(the numbers checked by hand against the transform's output, docs/checks/portraits.md)."""

from __future__ import annotations

import pytest

from search.results.crop import crop_keeps


@pytest.mark.parametrize(
    ("size", "crop_pct", "mode", "kept"),
    [
        ((224, 224), 1.0, "center", (1.0, 0.75)),  # 384x512 to a square: a quarter of the height
        ((224, 224), 0.875, "center", (0.875, 0.65625)),
        ((224, 224), 1.0, "squash", (1.0, 1.0)),
        ((224, 224), 1.0, "border", (1.0, 1.0)),
        ((224, 224), 0.875, "border", (1.0, 0.875)),  # the width padded, the height cut
        ((512, 384), 1.0, "center", (1.0, 1.0)),  # the portrait's own shape
    ],
)
def test_crop_keeps_what_timms_eval_transform_keeps(size, crop_pct, mode, kept):
    assert crop_keeps(384, 512, size, crop_pct, mode) == pytest.approx(kept)
