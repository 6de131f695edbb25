# The hosted demo: a Hugging Face Docker Space (see the README's front matter), CPU only.
#   docker build -t vae_lab . && docker run -p 8501:8501 vae_lab
FROM python:3.11-slim

RUN useradd --create-home --uid 1000 user
USER user
ENV HOME=/home/user PATH=/home/user/.local/bin:$PATH \
    VAE_LAB_DATA=/home/user/data VAE_LAB_CHECKPOINTS=/home/user/checkpoints \
    VAE_LAB_JOBS=/home/user/jobs VAE_LAB_CACHE=/home/user/.cache/vae_lab PYTHONUNBUFFERED=1 \
    # public-demo mode: per-visitor models and jobs, fair-use limits, low-priority training (vae_lab/public.py)
    VAE_LAB_PUBLIC=1
WORKDIR /home/user/app

# CPU-only PyTorch first (the default wheels carry CUDA, gigabytes a CPU host never uses),
# then the rest; requirements.txt's torch==2.14.1 is then already satisfied by 2.14.1+cpu.
COPY --chown=user requirements.txt .
RUN pip install --no-cache-dir --user --index-url https://download.pytorch.org/whl/cpu \
        torch==2.14.1 torchvision==0.29.1 \
 && pip install --no-cache-dir --user -r requirements.txt

COPY --chown=user . .
# The data sets (the build has internet; the app's visitors never wait for a download), and each
# shipped model's test-set analysis, computed once here so the Blur analysis page opens at once.
RUN python -m vae_lab fetch-data && python -m vae_lab evaluate

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4)"
CMD ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0"]
