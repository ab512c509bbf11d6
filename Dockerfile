# One image for the OMS API, the Celery worker, Flower and the reference IMS.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends libcurl4-openssl-dev gcc \
    && rm -rf /var/lib/apt/lists/*
COPY setup.cfg setup.py README.md celeryconfig.py ./
COPY oms ./oms
COPY workers ./workers
COPY ims ./ims
COPY devstack ./devstack
RUN pip install --no-cache-dir .
EXPOSE 8080 8081 5555
CMD ["gunicorn", "--bind", "0.0.0.0:8080", "--workers", "2", "oms.api.wsgi:app"]
