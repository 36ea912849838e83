"""A variable that cannot be computed the first time: a subprocess whose
parameters reference it fails on entry once (retry_subprocess)."""
from pipeline.core.data.var import LazyVariable

from opn_engine.components.collections.opn import first_run


class FailOnceVariable(LazyVariable):
    code = "opn_fail_once_var"
    name = "fail once"

    def get_value(self):
        if first_run("var:" + str(self.value)):
            raise RuntimeError("not computable on the first run")
        return "computed"
