"""Decoding on threads gives what one thread gives, in the files' order, skipping non-images."""

from __future__ import annotations

import threading

import torch

from search.trainer.data import decode
from search.trainer.data.augment import eval_transform
from search.trainer.data.decode import ThreadChoice, decode_all
from search.trainer.data.pipeline import open_image
from tests.conftest import image_folder


def _files(root, classes, size):
    image_folder(root, classes, size=size)
    return sorted(str(p) for p in root.rglob("*.png"))


def test_threads_decode_the_same_pixels_in_the_same_order_and_skip_what_is_not_an_image(
    tmp_path, monkeypatch
):
    files = _files(tmp_path / "imgs", {"a": 300, "b": 300}, size=48)
    broken = tmp_path / "imgs" / "a" / "broken.png"
    broken.write_bytes(b"not a png")
    files.insert(257, str(broken))  # inside the second chunk
    monkeypatch.setattr(decode, "CHUNK", 128)
    transform = eval_transform(32, 1.0, "bilinear")
    seen_threads: set[int] = set()

    def read(file: str) -> torch.Tensor:
        seen_threads.add(threading.get_ident())
        return transform(open_image(file, 3))

    serial = list(decode_all(files, read, threads=1))
    threaded = list(decode_all(files, read, threads=3))

    assert [f for f, _ in threaded] == files
    assert [i for i, (_, image) in enumerate(threaded) if image is None] == [257]
    for (_, a), (_, b) in zip(serial, threaded):
        assert (a is None and b is None) or torch.equal(a, b)
    assert len(seen_threads) > 1  # the threaded pass did run on the pool's threads


def test_the_choice_tries_one_thread_then_the_pool_and_keeps_the_faster():
    slow_pool = ThreadChoice(4)
    tried = []
    # The first chunk warms up: its time does not count. Each count's best time is kept.
    for seconds in (9.0, 2.0, 1.5, 1.2, 1.0):
        tried.append(slow_pool.next())
        slow_pool.record(tried[-1], seconds, images=100)
    assert tried == [1, 4, 1, 4, 1]
    assert slow_pool.per_image == {4: 0.012, 1: 0.01}
    assert slow_pool.next() == 1
    fast_pool = ThreadChoice(4)
    for seconds in (9.0, 0.5, 5.0, 3.0, 1.0):  # one thread stalled once: its better time counts
        fast_pool.record(fast_pool.next(), seconds, images=100)
    assert fast_pool.next() == 4
    fast_pool.record(4, 100.0, images=100)  # once chosen, later chunks do not reopen it
    assert fast_pool.next() == 4


def test_images_quick_to_decode_stay_on_one_thread_without_trying_the_pool():
    quick = ThreadChoice(4)
    quick.record(quick.next(), decode.ONE_THREAD_BELOW_S * 50, images=100)
    assert quick.next() == 1 and not quick.trials


def test_the_choice_stays_on_one_thread_when_torch_has_one_and_a_fixed_count_is_kept():
    single = ThreadChoice(1)
    assert single.next() == 1
    single.record(1, 1.0, images=10)
    assert single.next() == 1
    fixed = ThreadChoice(3, measure=False)
    assert fixed.next() == 3


def test_decoding_all_measures_on_the_first_chunks_and_returns_everything_in_order(
    tmp_path, monkeypatch
):
    files = _files(tmp_path / "imgs", {"a": 40}, size=8)
    monkeypatch.setattr(decode, "CHUNK", 8)
    monkeypatch.setattr(decode, "ONE_THREAD_BELOW_S", 0.0)  # tiny images: try the pool anyway
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    threads_used: list[int] = []
    record = ThreadChoice.record

    def spy(self, threads, seconds, images):
        threads_used.append(threads)
        record(self, threads, seconds, images)

    monkeypatch.setattr(ThreadChoice, "record", spy)
    read = list(decode_all(files, lambda f: open_image(f, 1).size))
    assert [f for f, _ in read] == files and all(size == (8, 8) for _, size in read)
    assert threads_used[:5] == [1, 2, 1, 2, 1] and len(threads_used) == 5
