from .celery import app  # noqa: F401  (celery -A opn_engine finds it)
