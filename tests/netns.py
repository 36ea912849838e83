"""Network namespaces on veth links, for the modules that need several hosts
on one machine: test_loadbalance gives each host a routed link of its own,
test_galera puts its nodes on one bridge. Every name carries the runner's
pid, so that a run removes what a run whose runner is gone left behind and
never touches a live one's. Needs root."""
import os
import re
import subprocess

# While a routed link is down the kernel drops its connected route; this
# route (below it) keeps packets for the host from taking the default route
# out of the machine: they fail here, as to a host that is gone.
UNREACHABLE_METRIC = "4231"
IFNAME_MAX = 15             # IFNAMSIZ - 1
PID_DIGITS = 7              # pid_max 4194304


def ip(*args, ns=None, check=True):
    argv = ["ip"] + (["-n", ns] if ns else []) + list(args)
    p = subprocess.run(argv, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), p.stderr.strip()))
    return p.stdout


def alive(pid):
    return os.path.exists("/proc/%d" % pid)


class Site:
    """One module's network: namespaces <tag>-<pid>-<i>, veths <tag><pid>r<i>
    (root side) and <tag><pid>n<i> (inside), the bridge <tag><pid>b, and
    private /24s of <octets>.0.0/16 (octets: the first two, "10.231")."""

    def __init__(self, tag, octets):
        assert len(tag) + PID_DIGITS + 3 <= IFNAME_MAX, tag
        self.tag = tag
        self.octets = octets
        self.pid = os.getpid()
        self.ns_prefix = "%s-%d-" % (tag, self.pid)
        self.bridge = None

    def net(self, third):
        """The first three octets of a /24, with the dot: "10.231.7."."""
        return "%s.%d." % (self.octets, third)

    def _gone(self, pid):
        return pid == self.pid or not alive(pid)

    def remove_stale(self):
        """Namespaces, links and fallback routes of an earlier run that
        ended without its teardown (its runner is gone), and our own."""
        for line in ip("netns", "list").splitlines():
            name = line.split()[0] if line.split() else ""
            m = re.fullmatch(r"%s-(\d+)-\d+" % self.tag, name)
            if m and self._gone(int(m.group(1))):
                ip("netns", "del", name, check=False)
        for m in re.finditer(r"^\d+: (%s(\d+)(?:[rn]\d+|b))[@:]" % self.tag,
                             ip("-o", "link", "show"), re.M):
            if self._gone(int(m.group(2))):
                ip("link", "del", m.group(1), check=False)
        # Fallback routes whose subnet no link carries any more.
        addrs = ip("-4", "-o", "addr", "show")
        for m in re.finditer(r"^unreachable (%s\.(\d+)\.0/24) .*metric %s"
                             % (re.escape(self.octets), UNREACHABLE_METRIC),
                             ip("-4", "route", "show"), re.M):
            if self.net(int(m.group(2))) + "1/" not in addrs:
                ip("route", "del", "unreachable", m.group(1), "metric",
                   UNREACHABLE_METRIC, check=False)

    def free_nets(self, n):
        """n third octets whose /24 no address or route uses yet."""
        used = set(int(x) for x in re.findall(
            r"%s\.(\d+)\." % re.escape(self.octets),
            ip("-4", "-o", "addr", "show") + ip("-4", "route", "show")))
        start = self.pid % 200 + 1
        cand = [x for x in list(range(start, 255)) + list(range(1, start))
                if x not in used]
        assert len(cand) >= n, "no free %s.x.0/24 left" % self.octets
        return cand[:n]

    def create_bridge(self, third):
        """A bridge with .1 of the /24, for Host(..., bridged=True)."""
        name = "%s%db" % (self.tag, self.pid)
        ip("link", "add", name, "type", "bridge")
        self.bridge = name
        ip("addr", "add", self.net(third) + "1/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def remove_bridge(self):
        if self.bridge is not None:
            ip("link", "del", self.bridge)
            self.bridge = None

    def left(self):
        """Our namespaces that are still there."""
        return [l for l in ip("netns", "list").splitlines()
                if l.startswith(self.ns_prefix)]


class Host:
    """Namespace i and a veth pair to the root one. Routed (the default):
    a /24 of its own, .1 on the root side, .2 inside (ns_ip), and the
    fallback route. Bridged: the root side a port of the site's bridge,
    .<10 + i> inside."""

    def __init__(self, site, i, third, bridged=False):
        self.site = site
        self.bridged = bridged
        self.ns = site.ns_prefix + str(i)
        self.root_if = "%s%dr%d" % (site.tag, site.pid, i)
        self.ns_if = "%s%dn%d" % (site.tag, site.pid, i)
        net = site.net(third)
        self.root_ip = None if bridged else net + "1"
        self.ns_ip = net + (str(10 + i) if bridged else "2")
        self.subnet = net + "0/24"

    def create(self):
        ip("netns", "add", self.ns)
        ip("link", "add", self.root_if, "type", "veth", "peer", "name", self.ns_if,
           "netns", self.ns)
        if self.bridged:
            ip("link", "set", self.root_if, "master", self.site.bridge)
        else:
            ip("addr", "add", self.root_ip + "/24", "dev", self.root_if)
        ip("link", "set", self.root_if, "up")
        ip("addr", "add", self.ns_ip + "/24", "dev", self.ns_if, ns=self.ns)
        ip("link", "set", self.ns_if, "up", ns=self.ns)
        ip("link", "set", "lo", "up", ns=self.ns)
        if not self.bridged:
            ip("route", "add", "unreachable", self.subnet, "metric",
               UNREACHABLE_METRIC)

    def link(self, up):
        """Both ends of the veth down (cut off the network) or up again."""
        state = "up" if up else "down"
        ip("link", "set", self.root_if, state)
        ip("link", "set", self.ns_if, state, ns=self.ns)

    def remove(self):
        if not self.bridged:
            ip("route", "del", "unreachable", self.subnet, "metric",
               UNREACHABLE_METRIC, check=False)
        ip("link", "del", self.root_if, check=False)
        ip("netns", "del", self.ns, check=False)
