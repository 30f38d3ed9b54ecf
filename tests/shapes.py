"""A generated dataset harder than MNIST: coloured shapes drawn by people, as a CSV manifest.

Classes are shape x colour (6), long-tailed. Each maker draws with their own stroke, offset
and background, so a maker's images resemble each other: a split that puts one maker on both
sides flatters validation, which is what `group_column: maker` prevents. A share of the
labels can be flipped (label noise).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

SHAPES = ("circle", "square", "triangle")
COLOURS = {"red": (200, 40, 40), "blue": (40, 60, 200)}


def make_shapes(
    root: Path,
    *,
    makers: int = 24,
    per_maker: int = 15,
    size: int = 32,
    noise: float = 0.0,
    seed: int = 0,
) -> Path:
    """Write root/images/*.png and root/labels.csv (file, shape, colour, maker); return the CSV."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    classes = [(s, c) for s in SHAPES for c in COLOURS]
    # Long tail: class k is drawn with weight 0.55**k.
    weights = [0.55**k for k in range(len(classes))]
    (root / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for m in range(makers):
        stroke = rng.randint(1, 3)
        shade = rng.randint(150, 255)
        background = (shade, shade - rng.randint(0, 40), shade - rng.randint(0, 60))
        offset = (rng.randint(-3, 3), rng.randint(-3, 3))
        for j in range(per_maker):
            shape, colour = rng.choices(classes, weights)[0]
            img = Image.new("RGB", (size, size), background)
            draw = ImageDraw.Draw(img)
            half = rng.randint(size // 5, size // 3)
            cx = size // 2 + offset[0] + rng.randint(-3, 3)
            cy = size // 2 + offset[1] + rng.randint(-3, 3)
            box = (cx - half, cy - half, cx + half, cy + half)
            fill = COLOURS[colour]
            if shape == "circle":
                draw.ellipse(box, outline=fill, width=stroke)
            elif shape == "square":
                draw.rectangle(box, outline=fill, width=stroke)
            else:
                points = [(cx, cy - half), (cx - half, cy + half), (cx + half, cy + half)]
                draw.polygon(points, outline=fill, width=stroke)
            name = f"images/m{m:02d}_{j:02d}.png"
            img.save(root / name, optimize=True)
            if rng.random() < noise:
                shape, colour = rng.choice(classes)
            rows.append({"file": name, "shape": shape, "colour": colour, "maker": f"m{m:02d}"})
    path = root / "labels.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["file", "shape", "colour", "maker"])
        writer.writeheader()
        writer.writerows(rows)
    return path
