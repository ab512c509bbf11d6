# One image for the OMS API, the Celery worker, Flower and the reference IMS.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends libcurl4-openssl-dev gcc \
    && rm -rf /var/lib/apt/lists/*
# The locked runtime dependencies first (their own layer), then OMS itself without resolving.
COPY requirements/main.txt ./requirements/main.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/main.txt
COPY setup.cfg setup.py README.md celeryconfig.py ./
COPY oms ./oms
COPY workers ./workers
COPY ims ./ims
COPY devstack ./devstack
RUN pip install --no-cache-dir --no-deps . && pip check
EXPOSE 8080 8081 5555
# The API's server settings (gevent worker, request-head deadline, limits) are in
# oms/api/gunicorn_conf.py, shared with docker-compose, devstack and the tests.
CMD ["gunicorn", "--config", "python:oms.api.gunicorn_conf", "--bind", "0.0.0.0:8080", \
     "oms.api.wsgi:app"]
