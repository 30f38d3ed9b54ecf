"""Each source on images the test writes: ImageFolder, pre-split root, CSV (labels, splits, groups)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from PIL import Image

from search.trainer.data.config import DataConfig
from search.trainer.data.errors import DataError
from search.trainer.data.load import load_dataset
from search.trainer.data.resolve import resolve_data_config
from tests.conftest import image_folder


def load(config: DataConfig):
    return load_dataset(resolve_data_config(config, "test_resnet"))


def _image(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (20, 14)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)  # .png or .jpg, by the suffix
    return path


def _pixels_of(ds, split: str) -> list[int]:
    """The red value of every image in `split`: the tests encode an image's identity there."""
    return sorted(int(img[0, 0, 0]) for img in ds.split(split).images)


def test_pre_split_root_uses_the_given_val_set_exactly(tmp_path):
    # Every image has its own red value, so a split's images can be told apart by pixels.
    red = iter(range(10, 250, 3))
    given = {"train": 8, "validation": 3, "test": 2}
    expected: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for folder, n in given.items():
        for cls in ("cat", "dog"):
            for j in range(n):
                value = next(red)
                suffix = ".jpg" if j % 2 else ".png"
                _image(tmp_path / folder / cls / f"{j}{suffix}", (value, 0, 0))
                expected["val" if folder == "validation" else folder].append(value)
    ds = load(DataConfig(path=str(tmp_path), image_size=16, crop_pct=1.0))
    assert ds.classes == ("cat", "dog")
    for split in ("train", "val", "test"):
        got = _pixels_of(ds, split)
        # JPEG moves a value by a little; PNG keeps it.
        assert len(got) == len(expected[split])
        assert all(abs(g - e) <= 3 for g, e in zip(got, sorted(expected[split]))), split


def test_pre_split_root_without_test_cuts_test_from_train(tmp_path):
    for folder, n in (("train", 10), ("val", 2)):
        image_folder(tmp_path / folder, {"a": n, "b": n})
    ds = load(DataConfig(path=str(tmp_path), image_size=12))
    assert len(ds.val) == 4 and len(ds.test) > 0 and len(ds.train) + len(ds.test) == 20


def _manifest(tmp_path: Path, rows: list[dict], name: str = "labels.csv", sep: str = ",") -> Path:
    images = tmp_path / "images"
    for i, row in enumerate(rows):
        _image(images / f"{i}.png", (i % 256, (i * 7) % 256, 0))
        row.setdefault("file", f"images/{i}.png")
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False, sep=sep)
    return path


def test_csv_combines_label_columns_into_readable_classes(tmp_path):
    rows = [
        {"mask": m, "gender": g}
        for m in ("on", "off")
        for g in ("f", "m")
        for _ in range(8 if m == "on" else 5)
    ]
    path = _manifest(tmp_path, rows, "labels.tsv", sep="\t")
    ds = load(
        DataConfig(
            csv=str(path), path_column="file", label_columns=("mask", "gender"), image_size=8
        )
    )
    assert ds.classes == ("off_f", "off_m", "on_f", "on_m")
    counts = torch.bincount(
        torch.cat([ds.train.labels, ds.val.labels, ds.test.labels]), minlength=4
    )
    assert counts.tolist() == [5, 5, 8, 8]


def test_csv_split_column_is_the_split(tmp_path):
    rows = [
        {"label": c, "split": s}
        for c in ("a", "b")
        for s in ["train"] * 6 + ["val"] * 2 + ["test"] * 2
    ]
    ds = load(
        DataConfig(
            csv=str(_manifest(tmp_path, rows)),
            path_column="file",
            split_column="split",
            image_size=8,
        )
    )
    assert (len(ds.train), len(ds.val), len(ds.test)) == (12, 4, 4)


def test_grouped_csv_never_puts_a_group_in_two_splits(tmp_path):
    # 30 people, 4 photos each; classes are imbalanced and a person's photos share a class.
    rows = [
        {"label": "rare" if person % 5 == 0 else "common", "person": f"p{person}"}
        for person in range(30)
        for _ in range(4)
    ]
    path = _manifest(tmp_path, rows)
    config = DataConfig(
        csv=str(path), path_column="file", group_column="person", image_size=8, val_fraction=0.2
    )
    ds = load(config)
    table = pd.read_csv(path)
    # Identify each image by its pixels (the manifest encodes its row there).
    row_of = {(i % 256, (i * 7) % 256): i for i in range(len(table))}
    people = {}
    for split in ("train", "val", "test"):
        images = ds.split(split).images
        people[split] = {
            table.person[row_of[(int(img[0, 0, 0]), int(img[1, 0, 0]))]] for img in images
        }
    assert not people["train"] & people["val"]
    assert not people["train"] & people["test"]
    assert not people["val"] & people["test"]
    assert sum(len(ds.split(s)) for s in ("train", "val", "test")) == 120
    assert set(ds.val.labels.tolist()) == {0, 1}  # stratified as far as groups allow


@pytest.mark.parametrize(
    "change, key, words",
    [
        ({"path_column": "filename"}, "path_column", "no column 'filename'"),
        ({"label_columns": ("label", "age")}, "label_columns[1]", "no column 'age'"),
        ({"group_column": "person"}, "group_column", "no column 'person'"),
    ],
)
def test_csv_missing_column_names_it(tmp_path, change, key, words):
    path = _manifest(tmp_path, [{"label": c} for c in "ab" * 5])
    config = DataConfig(csv=str(path), path_column="file", image_size=8)
    with pytest.raises(DataError, match=words) as err:
        load(DataConfig(**{**config.__dict__, **change}))
    assert err.value.key == key and "its columns: label, file" in str(err.value)


def test_csv_missing_files_are_counted_and_the_first_five_named(tmp_path):
    rows = [{"label": c} for c in "ab" * 5]
    path = _manifest(tmp_path, rows)
    for i in range(7):
        (tmp_path / "images" / f"{i}.png").unlink()
    with pytest.raises(DataError) as err:
        load(DataConfig(csv=str(path), path_column="file", image_size=8))
    message = str(err.value)
    assert message.startswith("7 of 10 files in") and "images/4.png" in message
    assert "images/5.png" not in message


def test_groups_that_leave_a_class_out_of_val_are_refused(tmp_path):
    # The rare class is one person: it cannot be in train and in val.
    rows = [{"label": "common", "person": f"p{i // 3}"} for i in range(30)]
    rows += [{"label": "rare", "person": "solo"} for _ in range(6)]
    path = _manifest(tmp_path, rows)
    with pytest.raises(DataError, match="leave class rare out of val"):
        load(DataConfig(csv=str(path), path_column="file", group_column="person", image_size=8))
