FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
COPY migrator ./migrator
COPY apps ./apps
RUN pip install --no-cache-dir .
COPY . .
RUN MIGRATOR_ENV=development python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "migrator.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
