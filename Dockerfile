# surfserve image: the trainer (`python -m training`) and the service (`python -m service`).
#
# Two stages: "build" installs torch and surfserve into a virtual environment, the final
# stage copies only that environment onto a fresh base, so no pip cache, wheels or
# build tools end up in the image.
#
# CPU torch from the PyTorch CPU index (the default):
#   docker build -t surfserve:cpu .
# torch from a wheel placed in docker/wheels:
#   docker build --build-arg TORCH_FIND_LINKS=/wheels -t surfserve:cpu .
# CUDA torch from PyPI (what the Compose "gpu" profile builds):
#   docker build --build-arg TORCH_REQUIREMENT=torch==2.13.0 \
#     --build-arg TORCH_INDEX_URL=https://pypi.org/simple -t surfserve:gpu .

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build

# torch comes first and on its own, because PyPI's default Linux wheel is a multi-GB
# CUDA build. The CPU build lives on the PyTorch index under a "+cpu" version, which
# still satisfies the exact pin torch==2.13.0 in pyproject.toml.
ARG TORCH_REQUIREMENT=torch==2.13.0+cpu
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# A folder inside the image (docker/wheels is copied to /wheels) to take torch from,
# for builds without access to the PyTorch index; its other dependencies still come
# from PyPI. Empty: use TORCH_INDEX_URL.
ARG TORCH_FIND_LINKS=

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/surfserve/bin:$PATH

RUN python -m venv /opt/surfserve

COPY docker/wheels/ /wheels/
# The version is pinned, inside the TORCH_REQUIREMENT build argument where hadolint
# cannot see it. The wheel also carries C++ headers (for compiling extensions) and
# C++ test programs (torch/test, torch/bin): 177 MB that the service never uses.
# hadolint ignore=DL3013
RUN if [ -n "$TORCH_FIND_LINKS" ]; then \
        pip install --find-links "$TORCH_FIND_LINKS" "$TORCH_REQUIREMENT"; \
    else \
        pip install --index-url "$TORCH_INDEX_URL" "$TORCH_REQUIREMENT"; \
    fi \
    && torch_dir=$(echo /opt/surfserve/lib/python3*/site-packages/torch) \
    && rm -rf "$torch_dir/include" "$torch_dir/test" \
        "$torch_dir"/bin/test_* "$torch_dir"/bin/*Test "$torch_dir"/bin/protoc*

# Dependencies before the source, so that a code change reuses this layer.
WORKDIR /src
COPY pyproject.toml ./
RUN python -c "import tomllib; \
project = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print(*project['dependencies'], sep='\n')" >requirements.txt \
    && pip install --requirement requirements.txt

COPY README.md ./
COPY service/ service/
COPY training/ training/
# pip itself (16 MB) is of no use in the final image, which installs nothing.
RUN pip install --no-deps . \
    && python -m pip uninstall --yes pip


FROM ${PYTHON_IMAGE}

LABEL org.opencontainers.image.title="surfserve" \
      org.opencontainers.image.description="Train a small PyTorch surface model and serve it over HTTP"

# Inside a container the service must listen on every interface for a published port
# to reach it; docker-compose.yml publishes it on 127.0.0.1 only.
ENV PATH=/opt/surfserve/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SURFSERVE_HOST=0.0.0.0 \
    SURFSERVE_PORT=8000 \
    SURFSERVE_MODEL_PATH=/models/surface.pt

# /models belongs to the service user, so a named volume mounted there starts out
# writable for the trainer.
RUN groupadd --system --gid 10001 surfserve \
    && useradd --system --uid 10001 --gid surfserve --create-home --home-dir /home/surfserve \
        --shell /usr/sbin/nologin surfserve \
    && mkdir /models \
    && chown surfserve:surfserve /models

COPY --from=build /opt/surfserve /opt/surfserve

# Numeric, so that runtimes that check "runs as non-root" need not resolve the name.
USER 10001:10001
WORKDIR /home/surfserve
EXPOSE 8000

# The image has no curl: the check is a small stdlib HTTP client in the package.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "service.healthcheck"]

# Exec form: python is PID 1 and receives SIGTERM itself, so uvicorn drains
# in-flight requests and the container exits 0 on `docker stop`.
ENTRYPOINT ["python", "-m", "service"]
