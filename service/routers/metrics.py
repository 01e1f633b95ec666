"""GET /metrics: the Prometheus text exposition."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from service.metrics import exposition

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    summary="Prometheus metrics: requests, latency, points, inference time, model, rejections",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/plain": {
                    "schema": {"type": "string"},
                    "example": "# HELP surfserve_requests_in_progress Requests being served now, "
                    "health checks and metrics excluded\n"
                    "# TYPE surfserve_requests_in_progress gauge\n"
                    "surfserve_requests_in_progress 1.0\n",
                }
            }
        }
    },
)
async def metrics() -> Response:
    body, content_type = exposition()
    return Response(body, media_type=content_type)
