"""`search data`'s crop line: what timm's eval transform keeps of the images' commonest sizes,
for the study's input size, crop_pct and crop_mode."""

from __future__ import annotations

from typing import Any

from search.trainer.data.augment import resize_box
from search.trainer.data.config import DataConfig, shown_size

CROP_ADVICE = 0.9
"""Below this share of a side kept, `search data` says how to keep the whole image."""


def crop_keeps(
    width: int, height: int, size: tuple[int, int], crop_pct: float, mode: str
) -> tuple[float, float]:
    """The shares of an image's width and height that timm's eval transform keeps, for the
    input `size` (height, width) and `crop_mode`; the rest is cut (padding is not counted)."""
    box_h, box_w = resize_box(size, crop_pct)
    if mode == "squash":  # each side resized to the box, then the crop
        return size[1] / box_w, size[0] / box_h
    ratios = (height / box_h, width / box_w)
    ratio = max(ratios) if mode == "border" else min(ratios)  # fit inside, or cover the box
    return min(1.0, size[1] * ratio / width), min(1.0, size[0] * ratio / height)


def crop_summary(resolved: DataConfig, sizes: dict[str, int]) -> dict[str, Any] | None:
    """What the eval crop keeps of the commonest image sizes (None: the built-in images, only
    ever resized)."""
    if resolved.image_size is None:
        return None
    size = resolved.height_width
    crop_pct, mode = resolved.crop_pct or 1.0, resolved.crop_mode or "center"
    keeps = []
    for shape, images in list(sizes.items())[:3]:
        width, height = (int(side) for side in shape.split("x"))
        kept_w, kept_h = crop_keeps(width, height, size, crop_pct, mode)
        keeps.append(
            {"size": shape, "images": images, "aspect": round(width / height, 3),
             "width": round(kept_w, 3), "height": round(kept_h, 3)}
        )
    return {"input": shown_size(resolved.image_size), "mode": mode, "crop_pct": crop_pct,
            "keeps": keeps}


def crop_lines(crop: dict[str, Any] | None) -> list[str]:
    if crop is None:
        return []
    head = f"crop     {crop['mode']} to {crop['input']} (crop_pct {crop['crop_pct']:g}):"
    lines = [
        f"{head if i == 0 else ' ' * len(head)} {k['size']} (aspect {k['aspect']:.2f}) keeps "
        f"{k['width']:.0%} of the width, {k['height']:.0%} of the height"
        for i, k in enumerate(crop["keeps"])
    ]
    if any(min(k["width"], k["height"]) < CROP_ADVICE for k in crop["keeps"]):
        lines.append("         to keep the whole image: image_size [height, width], crop_mode "
                     "squash or border")
    return lines
