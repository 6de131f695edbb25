# The hosted demo: a Hugging Face Docker Space (see the README's front matter), CPU only.
#   docker build -t vae_lab . && docker run -p 8501:8501 vae_lab
# Build arguments; the defaults are what a Space builds with:
#   BASE_IMAGE    an image with python3 (3.10 or newer) and its venv module: python:3.11-slim, or Debian
#                 with its python3 and python3-venv (.ci/space-image makes one where Docker Hub is unreachable)
#   TORCH_SOURCE  what `pip install` takes PyTorch from: by default the CPU wheel index (the default wheels
#                 carry CUDA, gigabytes a CPU box never uses); or a torch-*.whl put in the build context, as
#                 /tmp/build/torch-....whl. torchvision only downloads the data sets and is left out of the image.
# The data sets: a data root in the build context's data/ (MNIST/raw, FashionMNIST/raw, as `vae-lab fetch-data`
# leaves it) is copied; what it lacks is downloaded. The final stage has the virtual environment, the data sets
# and the analyses, and no build context, wheels or pip cache.
ARG BASE_IMAGE=python:3.11-slim

# The build context's data root, if it has one (only its raw files pass .dockerignore). A stage of its
# own: the build below copies the files from it, so that an unchanged data root keeps the analyses cached.
FROM ${BASE_IMAGE} AS context-data
COPY . /tmp/context
RUN mkdir -p /opt/data && cd /tmp/context && for f in data/*/raw/*-ubyte; do \
        if [ -f "$f" ]; then install -D -m 644 "$f" "/opt/$f"; fi; done

FROM ${BASE_IMAGE} AS build
ARG TORCH_SOURCE="torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cpu"
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 VAE_LAB_DATA=/opt/vae_lab/data
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# PyTorch first, then the rest (requirements.txt's torch>=2.11 is then already satisfied): these layers
# stay cached while only the code changes. The wildcard copies a local torch wheel if there is one.
COPY requirements.txt torch-*.whl /tmp/build/
RUN pip install $TORCH_SOURCE && pip install -r /tmp/build/requirements.txt
# What `pip install` reads, so that a change to the tests, docs or CI scripts keeps the layers below cached.
COPY pyproject.toml README.md /tmp/build/src/
COPY vae_lab /tmp/build/src/vae_lab
COPY checkpoints /tmp/build/src/checkpoints
RUN pip install --no-deps /tmp/build/src
# The data sets (the app's visitors never wait for a download; fetch-data gets what the context lacks). Each
# shipped model's analysis, on the whole test set and on the embedded sample, ships in the package
# (checkpoints/analyses); `vae-lab evaluate` reads them here, and computes any that a changed model or data set
# needs into the package's analyses, where the app reads them whatever its cache folder (in a Space with
# persistent storage that is /data's), so that Blur analysis, Samples and Models open at once.
COPY --from=context-data /opt/data /opt/vae_lab/data
RUN vae-lab fetch-data \
 && VAE_LAB_CACHE=$(python -c "from vae_lab.scorecard import SHIPPED_ANALYSES; print(SHIPPED_ANALYSES)") vae-lab evaluate \
 && pip uninstall --yes torchvision

FROM ${BASE_IMAGE}
RUN useradd --create-home --uid 1000 user
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/vae_lab/data /home/user/data
RUN mkdir -p /home/user/.cache/vae_lab && chown -R user /home/user/.cache  # analyses; matplotlib's font cache
USER user
ENV HOME=/home/user PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 \
    VAE_LAB_DATA=/home/user/data VAE_LAB_CHECKPOINTS=/home/user/checkpoints \
    VAE_LAB_JOBS=/home/user/jobs VAE_LAB_CACHE=/home/user/.cache/vae_lab \
    # public-demo mode: per-visitor models and jobs, fair-use limits, low-priority training (vae_lab/public.py)
    VAE_LAB_PUBLIC=1
WORKDIR /home/user
RUN python -c "import matplotlib.figure"  # its font cache built into the image, not at every container start

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4)"
CMD ["vae-lab", "app", "--server.port=8501", "--server.address=0.0.0.0"]
