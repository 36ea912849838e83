"""What tests/test_real_engine.py asks of bamboo itself, one JSON request a
line on stdin, one JSON answer a line on stdout: build a pipeline with
bamboo_engine.builder and run it (api.run_pipeline), or operate a node
through the bamboo_engine.api call that bk-sops' NodeCommandDispatcher
.<action>_v2 makes (gcloud/taskflow3/domains/dispatchers/node.py).

Ids are 32 characters, as bk-sops' node_uniqid() makes them (the builder's
33 do not fit pipeline_pipelineinstance.instance_id): a letter, the copy's
tag (8 hex digits) and 23 hex digits of the label's md5, so that the two
copies of a pipeline differ only by their tag. Flows are renamed the same
way after build_tree (the builder draws them at random).
"""
import hashlib
import json
import os
import sys
import traceback

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opn_engine.settings")
import django  # noqa: E402

django.setup()

from bamboo_engine import api  # noqa: E402
from bamboo_engine.builder import (  # noqa: E402
    ConditionalParallelGateway, ConvergeGateway, Data, EmptyEndEvent,
    EmptyStartEvent, ExclusiveGateway, ParallelGateway, Params,
    ServiceActivity, SubProcess, Var, build_tree)
from pipeline.eri.runtime import BambooDjangoRuntime  # noqa: E402


def make_id(prefix, tag, label):
    return prefix + tag + hashlib.md5(label.encode()).hexdigest()[:23]


class Ids:
    def __init__(self, tag):
        self.tag = tag
        self.nodes = {}

    def __call__(self, label, prefix="n"):
        self.nodes[label] = make_id(prefix, self.tag, label)
        return self.nodes[label]


def act(ids, label, code="opn_fail_once", **inputs):
    a = ServiceActivity(id=ids(label), component_code=code, name=label)
    for k, v in inputs.items():
        setattr(a.component.inputs, k, v)
    return a


def never(gw_cls, ids, label, n):
    """A gateway whose conditions are all unmet ("True == False" counts as
    met in bamboo, "1 == 0" does not): it fails."""
    return gw_cls(id=ids(label), name=label, conditions={i: "1 == 0" for i in range(n)})


# --- The pipelines: start element and root data -----------------------------

def linear(ids):
    """start, a (fails once; a plain and a rendered input), b, end."""
    a = act(ids, "a", x=Var(type=Var.PLAIN, value="plain ${x}"),
            y=Var(type=Var.SPLICE, value="rendered"))
    start = EmptyStartEvent(id=ids("start"))
    start.extend(a).extend(act(ids, "b", "opn_ok")).extend(EmptyEndEvent(id=ids("end")))
    return start, None


def exg(ids):
    start = EmptyStartEvent(id=ids("start"))
    gw = never(ExclusiveGateway, ids, "exg", 2)
    start.extend(act(ids, "a", "opn_ok")).extend(gw).connect(
        act(ids, "b1", "opn_ok"), act(ids, "b2", "opn_ok")).converge(
        ConvergeGateway(id=ids("cg"))).extend(EmptyEndEvent(id=ids("end")))
    return start, None


def cpg(ids):
    start = EmptyStartEvent(id=ids("start"))
    gw = never(ConditionalParallelGateway, ids, "cpg", 3)
    start.extend(gw).connect(act(ids, "b1", "opn_ok"), act(ids, "b2", "opn_ok"),
                             act(ids, "b3", "opn_ok")).converge(
        ConvergeGateway(id=ids("cg"))).extend(EmptyEndEvent(id=ids("end")))
    return start, None


def callback(ids):
    start = EmptyStartEvent(id=ids("start"))
    start.extend(act(ids, "c", "opn_callback")).extend(act(ids, "b", "opn_ok")).extend(
        EmptyEndEvent(id=ids("end")))
    return start, None


def block(ids):
    """start, p (blocks in execute on its first run), end."""
    start = EmptyStartEvent(id=ids("start"))
    start.extend(act(ids, "p", "opn_block")).extend(EmptyEndEvent(id=ids("end")))
    return start, None


def sub(ids, label, inner, params=None):
    s = EmptyStartEvent(id=ids(label + ".start"))
    elem = s
    for e in inner:
        elem = elem.extend(e)
    elem.extend(EmptyEndEvent(id=ids(label + ".end")))
    return SubProcess(id=ids(label, "p"), name=label, start=s, data=Data(), params=params or Params())


def parallel_subprocs(ids):
    """Two parallel branches, each a subprocess waiting for a callback."""
    start = EmptyStartEvent(id=ids("start"))
    start.extend(ParallelGateway(id=ids("pg"))).connect(
        sub(ids, "sp1", [act(ids, "sp1.c", "opn_callback")]),
        sub(ids, "sp2", [act(ids, "sp2.c", "opn_callback")])).converge(
        ConvergeGateway(id=ids("cg"))).extend(EmptyEndEvent(id=ids("end")))
    return start, None


def subproc_fail(ids):
    """A subprocess whose node fails once, beside a parallel branch whose
    node fails once too."""
    start = EmptyStartEvent(id=ids("start"))
    start.extend(ParallelGateway(id=ids("pg"))).connect(
        sub(ids, "sp", [act(ids, "sp.a", "opn_ok"), act(ids, "sp.b")]),
        act(ids, "side")).converge(
        ConvergeGateway(id=ids("cg"))).extend(EmptyEndEvent(id=ids("end")))
    return start, None


def subproc_entry(ids):
    """A subprocess that fails on entry once: its parameter references a
    variable that cannot be computed the first time."""
    sp_id = make_id("p", ids.tag, "sp")
    params = Params({"${sx}": Var(type=Var.SPLICE, value="${v}")})
    sp = sub(ids, "sp", [act(ids, "sp.a", "opn_ok")], params)
    sp.data.inputs["${sx}"] = Var(type=Var.PLAIN, value="")
    start = EmptyStartEvent(id=ids("start"))
    start.extend(sp).extend(EmptyEndEvent(id=ids("end")))
    data = Data()
    data.inputs["${v}"] = Var(type=Var.LAZY, value=sp_id, custom_type="opn_fail_once_var")
    return start, data


SHAPES = {f.__name__: f for f in (linear, exg, cpg, callback, block, parallel_subprocs,
                                  subproc_fail, subproc_entry)}


def rename_flows(tree, ids):
    """Each flow id from its source and target labels, not at random."""
    label = {v: k for k, v in ids.nodes.items()}
    flows = {}

    def walk(p):
        for fid, f in p["flows"].items():
            flows[fid] = "flow:%s>%s" % (label[f["source"]], label[f["target"]])
        for a in p["activities"].values():
            if a.get("pipeline"):
                walk(a["pipeline"])
    walk(tree)
    text = json.dumps(tree)
    for fid, name in flows.items():
        new = make_id("f", ids.tag, name)
        ids.nodes[name] = new
        text = text.replace(fid, new)
    return json.loads(text)


def run(shape, tag):
    ids = Ids(tag)
    start, data = SHAPES[shape](ids)
    root = ids("root", "p")
    tree = build_tree(start, id=root, data=data)
    tree = rename_flows(tree, ids)
    r = api.run_pipeline(runtime=BambooDjangoRuntime(), pipeline=tree)
    if not r.result:
        raise RuntimeError("run_pipeline: %s %s" % (r.message, r.exc_trace))
    return {"ids": ids.nodes}


# --- bk-sops' NodeCommandDispatcher.<action>_v2 -------------------------------

def operate(action, node_id, operator="admin", **kw):
    runtime = BambooDjangoRuntime()
    if action == "retry":
        inputs = kw.get("inputs") or {}
        r = api.get_data(runtime=runtime, node_id=node_id)
        if not r.result:
            return r
        if "__executor_proxy" in r.data["inputs"] and inputs:
            inputs["__executor_proxy"] = r.data["inputs"]["__executor_proxy"]["value"]
        if inputs:
            render_keys = inputs.get("_escape_render_keys", [])
            for k, v in r.data["inputs"].items():
                if v.get("need_render") is False and k not in render_keys:
                    render_keys.append(k)
            if render_keys:
                inputs["_escape_render_keys"] = render_keys
        return api.retry_node(runtime=runtime, node_id=node_id, data=inputs or None)
    if action == "skip":
        return api.skip_node(runtime=runtime, node_id=node_id)
    if action == "callback":
        version = kw.get("version") or runtime.get_state(node_id).version
        return api.callback(runtime=runtime, node_id=node_id, version=version, data=kw["data"])
    if action == "skip_exg":
        return api.skip_exclusive_gateway(runtime=runtime, node_id=node_id, flow_id=kw["flow_id"])
    if action == "skip_cpg":
        return api.skip_conditional_parallel_gateway(
            runtime=runtime, node_id=node_id, flow_ids=kw["flow_ids"],
            converge_gateway_id=kw["converge_gateway_id"])
    if action == "pause":
        return api.pause_node_appoint(runtime=runtime, node_id=node_id)
    if action == "resume":
        return api.resume_node_appoint(runtime=runtime, node_id=node_id)
    if action == "pause_subproc":
        return api.pause_pipeline(runtime=runtime, pipeline_id=node_id)
    if action == "resume_subproc":
        return api.resume_pipeline(runtime=runtime, pipeline_id=node_id)
    if action == "forced_fail":
        return api.forced_fail_activity(
            runtime=runtime, node_id=node_id,
            ex_data="The node has been terminated by {}.".format(operator),
            send_post_set_state_signal=True)
    if action == "retry_subprocess":
        return api.retry_subprocess(runtime=runtime, node_id=node_id)
    raise ValueError("unknown action " + action)


def main():
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["op"] == "run":
                out = {"ok": True, **run(req["shape"], req["tag"])}
            else:
                r = operate(req["action"], req["node_id"], **req.get("kw", {}))
                out = {"ok": bool(r.result), "message": r.message,
                       "exc": repr(r.exc) if r.exc else None}
        except Exception:
            out = {"ok": False, "message": traceback.format_exc()}
        django.db.close_old_connections()
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
