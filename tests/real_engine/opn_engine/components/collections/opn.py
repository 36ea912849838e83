"""The test's components. Each fails (or waits) on its node's first run
and succeeds on every later one: a Redis key per node id says whether the
node ran before, so both copies of a pipeline behave alike, and a retry,
retry_subprocess or callback finds it ready to succeed."""
import redis
from django.conf import settings
from pipeline.component_framework.component import Component
from pipeline.core.flow.activity import Service, StaticIntervalGenerator


_redis = []


def first_run(node_id):
    if not _redis:
        _redis.append(redis.Redis.from_url(settings.REDIS_URL))
    return bool(_redis[0].set("opn:ran:" + node_id, 1, nx=True))


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


class PollService(Service):
    """Keeps running on its first run (polled once an hour: it stays
    RUNNING for forced_fail); later runs finish at once."""
    __need_schedule__ = True
    interval = StaticIntervalGenerator(3600)

    def execute(self, data, parent_data):
        self.logger.info("poll: executing")
        if not first_run(self.id):
            setattr(self, "__need_schedule__", False)
        return True

    def schedule(self, data, parent_data, callback_data=None):
        self.finish_schedule()
        return True


class PollComponent(Component):
    name = "poll"
    code = "opn_poll"
    bound_service = PollService


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
