"""The test project's app: its components and variable; the Redis client
bamboo's node_timeout app takes from settings.redis_inst (as bk-sops sets
it), and that app's post_set_state handler connected. It is bk-sops' own
handler for the timeout pool line for line (gcloud/taskflow3/signals/
handlers.py _node_timeout_info_update: ZADD NX on RUNNING with a timeout
config, ZREM of <node>_<version> on FAILED, FINISHED, SUSPENDED), which
bamboo ships but does not connect."""
import redis
from django.apps import AppConfig
from django.conf import settings


class OpnEngineConfig(AppConfig):
    name = "opn_engine"

    def ready(self):
        settings.redis_inst = redis.Redis.from_url(settings.REDIS_URL)
        from pipeline.contrib.node_timeout.signals import handlers  # noqa: F401
