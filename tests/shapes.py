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
            _draw_shape(draw, shape, cx, cy, half, COLOURS[colour], None, stroke)
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


HARD_SHAPES = ("circle", "square", "triangle", "diamond", "cross")


def _draw_shape(draw, shape: str, cx: int, cy: int, half: int, ink, fill, width: int) -> None:
    """One of HARD_SHAPES centred on (cx, cy), `half` from the centre to each side."""
    x0, y0, x1, y1 = cx - half, cy - half, cx + half, cy + half
    if shape == "circle":
        draw.ellipse((x0, y0, x1, y1), outline=ink, fill=fill, width=width)
    elif shape == "square":
        draw.rectangle((x0, y0, x1, y1), outline=ink, fill=fill, width=width)
    elif shape == "triangle":
        draw.polygon([(cx, y0), (x0, y1), (x1, y1)], outline=ink, fill=fill, width=width)
    elif shape == "diamond":
        draw.polygon([(cx, y0), (x1, cy), (cx, y1), (x0, cy)], outline=ink, fill=fill, width=width)
    else:
        bar = max(width, half // 3)
        draw.rectangle((cx - bar, y0, cx + bar, y1), outline=ink, fill=fill, width=width)
        draw.rectangle((x0, cy - bar, x1, cy + bar), outline=ink, fill=fill, width=width)


def make_hard_shapes(
    root: Path,
    *,
    largest: int = 1200,
    tail: float = 0.65,
    size: int = 20,
    noise: float = 0.1,
    seed: int = 0,
) -> Path:
    """Write an ImageFolder tree under root: 10 classes (5 shapes x outline/filled) at `size` px.

    Harder than `make_shapes`: class k has `largest * tail**k` images (1200 down to 25 with the
    defaults), shapes are drawn at 4x and shrunk, colour and background carry no
    label, pixel noise and a distractor stroke are added, and a share `noise` of the images is
    filed under the same shape's other style, as a hurried annotator would (uniform noise
    would bury the rarest classes under the largest ones' mistakes).
    """
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    classes = [f"{shape}_{style}" for shape in HARD_SHAPES for style in ("outline", "filled")]
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
    big = size * 4
    for k, name in enumerate(classes):
        shape, style = name.split("_")
        for j in range(max(1, round(largest * tail**k))):
            grey = rng.randint(70, 190)
            background = tuple(grey + rng.randint(-25, 25) for _ in range(3))
            ink = tuple(
                max(0, min(255, grey + rng.choice((-1, 1)) * rng.randint(60, 100)))
                for _ in range(3)
            )
            img = Image.new("RGB", (big, big), background)
            draw = ImageDraw.Draw(img)
            half = rng.randint(big // 4, big // 3)
            cx = big // 2 + rng.randint(-big // 8, big // 8)
            cy = big // 2 + rng.randint(-big // 8, big // 8)
            fill = ink if style == "filled" else None
            _draw_shape(draw, shape, cx, cy, half, ink, fill, rng.randint(2, 5))
            line = [rng.randint(0, big) for _ in range(4)]
            draw.line(line, fill=tuple(rng.randint(0, 255) for _ in range(3)), width=2)
            img = img.resize((size, size), Image.BOX)
            pixels = img.load()
            for y in range(size):
                for x in range(size):
                    pixels[x, y] = tuple(
                        max(0, min(255, c + int(rng.gauss(0, 8)))) for c in pixels[x, y]
                    )
            other = f"{shape}_{'filled' if style == 'outline' else 'outline'}"
            filed = other if rng.random() < noise else name
            img.save(root / filed / f"{name}_{j:04d}.png")
    return root
