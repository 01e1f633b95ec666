"""Dynamic batching: concurrent small /predict requests share one forward pass.

Each forward pass has a fixed cost (the TorchScript interpreter, one kernel
launch per layer) that a 1-point request pays alone. The batcher collects the
points of requests that arrive together and runs them as one forward pass.
Predictions are the same as unbatched ones because the predictor pads every
forward to whole blocks of rows (see ``service.predictor.ROW_ALIGNMENT``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from service.predictor import Predictor

logger = logging.getLogger(__name__)


class DynamicBatcher:
    """Collects the points of concurrent requests and runs them as one forward pass.

    A batch runs when it contains ``max_points`` points, or ``max_wait`` seconds
    after its first request arrived. With ``max_wait`` 0 it runs on the next turn
    of the event loop, so it merges the requests that arrived together and
    delays none. Requests with more than ``max_points`` points are not batched.
    """

    def __init__(self, max_points: int, max_wait: float) -> None:
        self.max_points = max_points
        self.max_wait = max_wait
        self._predictor: Predictor | None = None
        self._pending: list[tuple[np.ndarray, asyncio.Future[np.ndarray]]] = []
        self._pending_points = 0
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None

    async def predict(self, predictor: Predictor, points: np.ndarray) -> np.ndarray:
        """Return the predictions for ``points``, computed in a forward shared with others."""
        # A batch contains the requests of one predictor, so after a reload the
        # requests still on the old model do not mix with those on the new one.
        if self._pending and (
            predictor is not self._predictor or self._pending_points + len(points) > self.max_points
        ):
            self._run_pending()

        loop = asyncio.get_running_loop()
        future: asyncio.Future[np.ndarray] = loop.create_future()
        self._predictor = predictor
        self._pending.append((points, future))
        self._pending_points += len(points)

        if self._pending_points >= self.max_points:
            self._run_pending()
        elif self._timer is None:
            if self.max_wait > 0:
                self._timer = loop.call_later(self.max_wait, self._run_pending)
            else:
                self._timer = loop.call_soon(self._run_pending)
        return await future

    def _run_pending(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, predictor = self._pending, self._predictor
        self._pending, self._pending_points, self._predictor = [], 0, None
        if not pending or predictor is None:
            return

        # The merged forward runs on the event loop: it is at most max_points
        # rows, which takes less than handing it to a worker thread.
        merged = np.concatenate([points for points, _ in pending])
        try:
            predictions = predictor.predict(merged)
        except Exception as error:
            for _, future in pending:
                if not future.done():
                    future.set_exception(error)
            return

        logger.debug("%d requests (%d points) shared one forward pass", len(pending), len(merged))
        start = 0
        for points, future in pending:
            stop = start + len(points)
            # A request cancelled while it waited (its client went away) is skipped.
            if not future.done():
                future.set_result(predictions[start:stop])
            start = stop
