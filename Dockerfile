# One image for web and the default-queue worker. The gpu-worker builds with INSTALL_VLLM=1
# (the CUDA build of vLLM from requirements-vllm.txt).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

ARG INSTALL_VLLM=0
COPY requirements.txt requirements-vllm.txt ./
RUN pip install -r requirements.txt \
 && if [ "$INSTALL_VLLM" = "1" ]; then pip install -r requirements-vllm.txt; fi

COPY . .
RUN DEBUG=1 python manage.py collectstatic --noinput

RUN useradd --create-home app && mkdir -p /app/var && chown -R app /app/var
USER app

EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120"]
