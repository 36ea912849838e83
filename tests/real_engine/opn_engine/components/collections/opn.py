"""The test's components. Each fails (or waits) on its node's first run
and succeeds on every later one: a Redis key per node id says whether the
node ran before, so both copies of a pipeline behave alike, and a retry,
retry_subprocess or callback finds it ready to succeed."""
import time

import redis
from django.conf import settings
from pipeline.component_framework.component import Component
from pipeline.core.flow.activity import Service


_redis = []


def client():
    if not _redis:
        _redis.append(redis.Redis.from_url(settings.REDIS_URL))
    return _redis[0]


def first_run(node_id):
    return bool(client().set("opn:ran:" + node_id, 1, nx=True))


class FailOnceService(Service):
    """Fails on its first run; copies its inputs to its outputs."""

    def execute(self, data, parent_data):
        self.logger.info("fail once: executing")
        for key, val in data.inputs.items():
            if not key.startswith("_"):
                data.set_outputs(key, val)
        if first_run(self.id):
            data.set_outputs("ex_data", "failed on its first run")
            return False
        return True


class FailOnceComponent(Component):
    name = "fail once"
    code = "opn_fail_once"
    bound_service = FailOnceService


class OkService(Service):
    def execute(self, data, parent_data):
        return True


class OkComponent(Component):
    name = "ok"
    code = "opn_ok"
    bound_service = OkService


class BlockService(Service):
    """On its first run, execute says it entered (opn:entered:<node>) and
    blocks until the test releases it (opn:release:<node>, 60 s at most):
    the node stays RUNNING in execute, for forced_fail. Later runs finish
    at once."""

    def execute(self, data, parent_data):
        self.logger.info("block: executing")
        if first_run(self.id):
            client()
            _redis[0].set("opn:entered:" + self.id, 1)
            end = time.monotonic() + 60
            while not _redis[0].exists("opn:release:" + self.id) and time.monotonic() < end:
                time.sleep(0.05)
        return True


class BlockComponent(Component):
    name = "block"
    code = "opn_block"
    bound_service = BlockService


class CallbackService(Service):
    """Waits for a callback; fails when the callback data says
    {"ok": false}."""
    __need_schedule__ = True
    interval = None

    def execute(self, data, parent_data):
        self.logger.info("callback: waiting")
        return True

    def schedule(self, data, parent_data, callback_data=None):
        self.logger.info("callback: called back")
        callback_data = callback_data or {}
        data.set_outputs("callback", callback_data)
        if callback_data.get("ok") is False:
            data.set_outputs("ex_data", "the callback said no")
            return False
        self.finish_schedule()
        return True


class CallbackComponent(Component):
    name = "callback"
    code = "opn_callback"
    bound_service = CallbackService
