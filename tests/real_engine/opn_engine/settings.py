"""Django settings of the engine project: what bk-sops sets for bamboo's
engine (UTC in the database, Asia/Shanghai without UTC for Celery), the
rest from the environment the test passes (OPN_DB_*, OPN_BROKER_URL,
OPN_REDIS_URL, OPN_LOG_FILE)."""
import os

SECRET_KEY = "operate-node-test-engine"
DEBUG = False
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_celery_beat",
    "django_celery_results",
    "pipeline",
    "pipeline.engine",
    "pipeline.component_framework",
    "pipeline.variable_framework",
    "pipeline.log",
    "pipeline.eri",
    "opn_engine",
    # the timeout pool's ZADD NX / ZREM on state changes, as bk-sops'
    # post_set_state handler does them (same key, same states)
    "pipeline.contrib.node_timeout",
]
PIPELINE_NODE_TIMEOUT_EXECUTING_POOL = "sops_executing_node_pool"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.mysql",
        "NAME": os.environ["OPN_DB_NAME"],
        "USER": "root",
        "OPTIONS": {"unix_socket": os.environ["OPN_DB_SOCKET"], "charset": "utf8mb4"},
    }
}

# bk-sops' own ids are 32 characters; the example components stay out.
ENABLE_EXAMPLE_COMPONENTS = False
AUTO_UPDATE_COMPONENT_MODELS = False
AUTO_UPDATE_VARIABLE_MODELS = False

REDIS_URL = os.environ.get("OPN_REDIS_URL", "redis://127.0.0.1:6379/0")


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"},
                   "light": {"format": "%(message)s"}},
    "handlers": {
        "file": {"class": "logging.FileHandler", "formatter": "plain",
                 "filename": os.environ.get("OPN_LOG_FILE", "/dev/null")},
        # a node's own log lines into eri_logentry, as bk-sops routes them
        # (config/default.py; without its timestamp, for the comparison)
        "pipeline_eri": {"class": "pipeline.eri.log.ERINodeLogHandler", "formatter": "light"},
    },
    "loggers": {
        "pipeline.eri.log": {"handlers": ["pipeline_eri"], "level": "INFO", "propagate": True},
    },
    "root": {"handlers": ["file"], "level": "INFO"},
}
