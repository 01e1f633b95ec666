import asyncio

import numpy as np
import pytest
import torch

from service.batching import DynamicBatcher
from service.predictor import Predictor

CPU = torch.device("cpu")


class CountingPredictor(Predictor):
    """The real predictor, counting its forward passes and the points in each."""

    def __init__(self, artifact):
        super().__init__(artifact, CPU)
        self.forwards: list[int] = []

    def predict(self, points):
        self.forwards.append(len(points))
        return super().predict(points)


@pytest.fixture
def predictor(artifact):
    torch.set_num_threads(1)
    return CountingPredictor(artifact)


def _requests(count, seed=0):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, size=count)
    return [(rng.standard_normal((size, 2)) * 4).astype(np.float32) for size in sizes]


async def _gather(batcher, predictor, requests):
    return await asyncio.gather(*(batcher.predict(predictor, points) for points in requests))


def test_concurrent_requests_share_forward_and_match_unbatched(predictor):
    requests = _requests(40)
    unbatched = [Predictor.predict(predictor, points) for points in requests]
    predictor.forwards.clear()

    batched = asyncio.run(
        _gather(DynamicBatcher(max_points=10_000, max_wait=0), predictor, requests)
    )

    assert predictor.forwards == [sum(len(points) for points in requests)]
    for got, expected in zip(batched, unbatched, strict=True):
        assert got.dtype == np.float32
        assert np.array_equal(got, expected)


def test_batch_is_cut_at_max_points(predictor):
    requests = [np.full((3, 2), index, dtype=np.float32) for index in range(10)]

    batched = asyncio.run(_gather(DynamicBatcher(max_points=7, max_wait=0), predictor, requests))

    assert max(predictor.forwards) <= 7
    assert sum(predictor.forwards) == 30
    for points, got in zip(requests, batched, strict=True):
        assert np.array_equal(got, Predictor.predict(predictor, points))


def test_max_wait_collects_later_requests(predictor):
    async def staggered():
        batcher = DynamicBatcher(max_points=1000, max_wait=0.2)
        first = asyncio.ensure_future(batcher.predict(predictor, np.zeros((1, 2), np.float32)))
        await asyncio.sleep(0.01)
        second = await batcher.predict(predictor, np.ones((1, 2), np.float32))
        return await first, second

    asyncio.run(staggered())

    assert predictor.forwards == [2]


def test_requests_of_different_predictors_do_not_mix(artifact):
    old, new = CountingPredictor(artifact), CountingPredictor(artifact)
    batcher = DynamicBatcher(max_points=1000, max_wait=0)

    async def both():
        points = np.zeros((2, 2), np.float32)
        return await asyncio.gather(batcher.predict(old, points), batcher.predict(new, points))

    asyncio.run(both())

    assert old.forwards == [2]
    assert new.forwards == [2]


def test_forward_error_reaches_every_request(predictor):
    def broken(points):
        raise RuntimeError("forward failed")

    predictor.predict = broken
    batcher = DynamicBatcher(max_points=1000, max_wait=0)

    async def run():
        points = np.zeros((1, 2), np.float32)
        return await asyncio.gather(
            batcher.predict(predictor, points),
            batcher.predict(predictor, points),
            return_exceptions=True,
        )

    results = asyncio.run(run())

    assert [str(result) for result in results] == ["forward failed", "forward failed"]


def test_cancelled_request_does_not_break_batch(predictor):
    async def run():
        batcher = DynamicBatcher(max_points=1000, max_wait=0.05)
        leaving = asyncio.ensure_future(batcher.predict(predictor, np.zeros((1, 2), np.float32)))
        staying = asyncio.ensure_future(batcher.predict(predictor, np.ones((1, 2), np.float32)))
        await asyncio.sleep(0)
        leaving.cancel()
        return await staying

    result = asyncio.run(run())

    assert np.array_equal(result, Predictor.predict(predictor, np.ones((1, 2), np.float32)))
