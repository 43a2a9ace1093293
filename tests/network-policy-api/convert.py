#!/usr/bin/env python3
"""Turns network-policy-api's ClusterNetworkPolicy conformance tests into data.

Usage: convert.py UPSTREAM_REPO_DIR OUT_DIR

Reads `conformance/base/**.yaml` and `conformance/tests/*.go` of kubernetes-sigs/network-policy-api
and writes, per Go test, `cases/<ShortName>.yaml`: each subtest's phases, where a phase is the
objects as the test has mutated them so far (the mutations of one test carry over to its later
subtests, as on a real cluster) and the `PokeServer` probes made in that state. The base
manifests become `base.yaml`, with each StatefulSet written as its pods and fixed pod IPs (the
tests read pod IPs at run time; the data needs them to turn CIDR peers into pods), and two
Node objects carrying the host-network pods' addresses (the tests run on a real cluster's
nodes; `nodes` peers match Node objects).

The Go code is interpreted, not the comments (which are sometimes stale): GetPod/GetNamespace/
GetClusterNetworkPolicy bind variables, `mutate.Spec...` assignments swap or rewrite rules,
Patch*/Delete commit a new phase, and PokeServer records a probe. Anything else is an error, so
a new upstream construct is noticed rather than skipped.
"""

import copy
import os
import re
import subprocess
import sys

import yaml

# Upstream picks host-network ports at run time; any free ports do for the data.
HOST_NETWORK_PORTS = [34345, 34346, 34347, 34348, 34349, 34350, 34351, 34352]
HOUSES = ["gryffindor", "slytherin", "hufflepuff", "ravenclaw", "forbidden-forrest"]


class Dumper(yaml.SafeDumper):
    """Writes multi-line strings (the objects of a phase) as literal blocks."""


Dumper.add_representer(
    str,
    lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style="|" if "\n" in v else None),
)


def git_show(repo, path):
    return subprocess.run(
        ["git", "-C", repo, "show", f"HEAD:{path}"], check=True, capture_output=True, text=True
    ).stdout


def git_ls(repo, path):
    out = subprocess.run(
        ["git", "-C", repo, "ls-tree", "-r", "--name-only", "HEAD", path],
        check=True, capture_output=True, text=True,
    ).stdout
    return out.split()


def template(text):
    return re.sub(
        r"\{\{ index \.HostNetworkPorts (\d) \}\}",
        lambda m: str(HOST_NETWORK_PORTS[int(m.group(1))]),
        text,
    )


def base_objects(repo):
    """Namespaces and one Pod per StatefulSet replica, with fixed IPs."""
    docs = [d for d in yaml.safe_load_all(template(git_show(repo, "conformance/base/manifests.yaml"))) if d]
    out = []
    for d in docs:
        if d["kind"] == "Namespace":
            out.append(d)
        elif d["kind"] == "StatefulSet":
            ns = d["metadata"]["namespace"]
            house = HOUSES.index(ns.removeprefix("network-policy-conformance-")) + 1
            tpl = d["spec"]["template"]
            host = tpl["spec"].get("hostNetwork", False)
            for i in range(d["spec"]["replicas"]):
                ports = [p for c in tpl["spec"]["containers"] for p in c.get("ports", [])]
                ip = f"192.168.0.{10 + i}" if host else f"10.{house}.0.{10 + i}"
                pod = {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": f"{d['metadata']['name']}-{i}",
                        "namespace": ns,
                        "labels": dict(tpl["metadata"]["labels"]),
                    },
                    "spec": {
                        **({"hostNetwork": True} if host else {}),
                        "containers": [{"name": "c", "image": "agnhost", "ports": ports}],
                    },
                    "status": {"podIP": ip, "hostIP": f"192.168.0.{10 + i}"},
                }
                out.append(pod)
        else:
            raise SystemExit(f"base manifest kind {d['kind']} not handled")
    # the nodes the host-network pods run on (a kind cluster's labels)
    for i in range(2):
        out.append({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": f"node-{i}",
                "labels": {"kubernetes.io/hostname": f"node-{i}", "kubernetes.io/os": "linux"},
            },
            "status": {"addresses": [{"type": "InternalIP", "address": f"192.168.0.{10 + i}"}]},
        })
    return out


def pod_ip(base, ns, name):
    for o in base:
        if o["kind"] == "Pod" and o["metadata"]["namespace"] == ns and o["metadata"]["name"] == name:
            return o["status"]["podIP"]
    raise SystemExit(f"no pod {ns}/{name}")


class Test:
    def __init__(self, name, source, manifests, base, policies):
        self.name = name
        self.source = source
        self.manifests = manifests
        self.base = base
        self.namespaces = {o["metadata"]["name"]: copy.deepcopy(o) for o in base if o["kind"] == "Namespace"}
        self.policies = policies  # list of policy objects, in manifest order
        self.subtests = []
        self.probes = []  # probes of the current phase

    def state(self):
        changed = [ns for ns in self.namespaces.values()]
        return yaml.safe_dump_all(self.policies + changed, sort_keys=False)

    def flush(self):
        if self.probes:
            self.subtests[-1]["phases"].append({"objects": self.state(), "probes": self.probes})
            self.probes = []

    def policy(self, name):
        for p in self.policies:
            if p["metadata"]["name"] == name and p["kind"] == "ClusterNetworkPolicy":
                return p
        raise SystemExit(f"{self.name}: no ClusterNetworkPolicy {name}")


RULE_REF = r"mutate\.Spec\.(Ingress|Egress)\[(\d+)\]"


def interpret(test, body):
    """Runs the statements of a Go test body, filling `test.subtests`."""
    env = {}  # variables: pods, namespaces, policies, working copies, rules, strings
    np_key = {}
    text = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    lines = [re.sub(r"//.*", "", l).strip() for l in text.split("\n")]
    depth = 0  # open brackets of the statement being read
    cur = []
    in_run = False
    for line in lines:
        if not line:
            continue
        if depth == 0:
            m = re.match(r't\.Run\("([^"]+)", func\(t \*testing\.T\) \{$', line)
            if m:
                test.flush()
                test.subtests.append({"name": m.group(1), "phases": []})
                in_run = True
                continue
            if line == "})" and in_run:
                test.flush()
                in_run = False
                continue
        cur.append(line)
        depth += sum(line.count(c) for c in "({[") - sum(line.count(c) for c in ")}]")
        if depth <= 0:
            st = " ".join(" ".join(cur).split())
            cur = []
            depth = 0
            if not in_run and not test.subtests:
                test.subtests.append({"name": "(test setup)", "phases": []})
            interpret_stmt(test, st, env, np_key)


def interpret_stmt(test, st, env, np_key):
    if m := re.match(r'(\w+) :?= kubernetes\.GetPod\(t, s\.Client, "([^"]+)", "([^"]+)"', st):
        env[m.group(1)] = ("pod", m.group(2), m.group(3))
    elif m := re.match(r'(\w+) :?= kubernetes\.GetNamespace\(t, s\.Client, "([^"]+)"', st):
        env[m.group(1)] = ("namespace", m.group(2))
    elif m := re.match(r'(\w+) :?= kubernetes\.GetClusterNetworkPolicy\(t, s\.Client, "([^"]+)"', st):
        env[m.group(1)] = ("cnp", m.group(2))
    elif m := re.match(r"mutate :?= (\w+)\.DeepCopy\(\)$", st):
        name = env[m.group(1)][1]
        env["mutate"] = ("working", name, copy.deepcopy(test.policy(name)))
    elif m := re.match(r"mutateNamespace :?= (\w+)\.DeepCopy\(\)$", st):
        env["mutateNamespace"] = ("ns-working", env[m.group(1)][1], None)
    elif m := re.match(r'mutateNamespace\.SetLabels\(map\[string\]string\{(.*)\}\)$', st):
        labels = dict(re.findall(r'"([^"]+)": "([^"]*)"', m.group(1)))
        kind, ns, _ = env["mutateNamespace"]
        env["mutateNamespace"] = (kind, ns, labels)
    elif re.match(r"kubernetes\.PatchNamespace\(", st):
        _, ns, labels = env["mutateNamespace"]
        test.flush()
        test.namespaces[ns]["metadata"]["labels"] = labels
    elif m := re.match(r"(\w+) :?= " + RULE_REF + "$", st) or re.match(
        r"(\w+) :?= mutate\.DeepCopy\(\)\.Spec\.(Ingress|Egress)\[(\d+)\]$", st
    ):
        pol = env["mutate"][2]
        env[m.group(1)] = ("rule", copy.deepcopy(pol["spec"][m.group(2).lower()][int(m.group(3))]))
    elif m := re.match(RULE_REF + r" = " + RULE_REF + "$", st):
        pol = env["mutate"][2]
        src = copy.deepcopy(pol["spec"][m.group(3).lower()][int(m.group(4))])
        pol["spec"][m.group(1).lower()][int(m.group(2))] = src
    elif m := re.match(RULE_REF + r" = (\w+)$", st):
        pol = env["mutate"][2]
        pol["spec"][m.group(1).lower()][int(m.group(2))] = copy.deepcopy(env[m.group(3)][1])
    elif m := re.match(RULE_REF + r"\.Action = api\.ClusterNetworkPolicyRuleAction(\w+)$", st):
        pol = env["mutate"][2]
        pol["spec"][m.group(1).lower()][int(m.group(2))]["action"] = m.group(3)
    elif m := re.match(r"mutate\.Spec\.Priority = (\d+)$", st):
        env["mutate"][2]["spec"]["priority"] = int(m.group(1))
    elif m := re.match(r'(\w+) := "([^"]*)"$', st):
        env[m.group(1)] = ("string", m.group(2))
    elif m := re.match(r"(\w+)\.Protocols = \[\]api\.ClusterNetworkPolicyProtocol\{ \{ DestinationNamedPort: (\w+), \}, \}$", st):
        env[m.group(1)][1]["protocols"] = [{"destinationNamedPort": env[m.group(2)][1]}]
    elif m := re.match(r"var mask string|if net\.IsIPv4String|mask = |\} else \{|\}$", st):
        pass  # the /32 mask of the inserted CIDRs (pod IPs here are IPv4)
    elif m := re.match(r"newRule := \[\]api\.ClusterNetworkPolicyEgressRule\{(.*)\}$", st):
        name = re.search(r'Name: "([^"]+)"', m.group(1)).group(1)
        action = re.search(r'Action: "([^"]+)"', m.group(1)).group(1)
        cidrs = [
            pod_ip(test.base, *env[v][1:]) + "/32"
            for v in re.findall(r"api\.CIDR\((\w+)\.Status\.PodIP \+ mask\)", m.group(1))
        ]
        env["newRule"] = ("rules", [{"name": name, "action": action, "to": [{"networks": cidrs}]}])
    elif m := re.match(r"mutate\.Spec\.Egress = append\(newRule, mutate\.Spec\.Egress\.\.\.\)$", st):
        pol = env["mutate"][2]
        pol["spec"]["egress"] = copy.deepcopy(env["newRule"][1]) + pol["spec"]["egress"]
    elif re.match(r"kubernetes\.PatchClusterNetworkPolicy\(", st):
        _, name, working = env["mutate"]
        test.flush()
        for i, p in enumerate(test.policies):
            if p["metadata"]["name"] == name and p["kind"] == "ClusterNetworkPolicy":
                test.policies[i] = working
        env["mutate"] = ("working", name, copy.deepcopy(working))
    elif m := re.match(r'np := &networkingv1\.NetworkPolicy\{\}$', st):
        pass
    elif m := re.match(r'err := s\.Client\.Get\(ctx, client\.ObjectKey\{ Namespace: "([^"]+)", Name: "([^"]+)", \}, np\)$', st):
        np_key["np"] = (m.group(1), m.group(2))
    elif re.match(r"err = s\.Client\.Delete\(ctx, np\)$", st):
        ns, name = np_key["np"]
        test.flush()
        test.policies = [
            p for p in test.policies
            if not (p["kind"] == "NetworkPolicy" and p["metadata"]["name"] == name and p["metadata"]["namespace"] == ns)
        ]
    elif re.match(r"(require\.|ctx, cancel|defer cancel)", st):
        pass
    elif m := re.match(
        r'kubernetes\.PokeServer\(t, s\.ClientSet, &s\.KubeConfig, "([^"]+)", "([^"]+)", "(\w+)", (\w+)\.Status\.PodIP, int32\((.+?)\), s\.TimeoutConfig, (true|false)\)$',
        st,
    ):
        _, sns, spod = env[m.group(4)]
        port = m.group(5)
        if pm := re.match(r"s\.HostNetworkPorts\[(\d)\]", port):
            port = HOST_NETWORK_PORTS[int(pm.group(1))]
        test.probes.append({
            "from": f"{m.group(1)}/{m.group(2)}",
            "to": f"{sns}/{spod}",
            "protocol": m.group(3).upper(),
            "port": int(port),
            "connect": m.group(6) == "true",
        })
    else:
        raise SystemExit(f"{test.name}: statement not understood: {st}")


def main():
    repo, out = sys.argv[1], sys.argv[2]
    commit = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    base = base_objects(repo)
    os.makedirs(os.path.join(out, "cases"), exist_ok=True)
    with open(os.path.join(out, "base.yaml"), "w") as f:
        f.write(f"# Generated by convert.py from kubernetes-sigs/network-policy-api@{commit[:12]}\n")
        f.write("# conformance/base/manifests.yaml: each StatefulSet as its pods, with fixed IPs, and the\n")
        f.write("# nodes of the host-network pods. The namespaces are in each phase of cases/*.yaml.\n")
        yaml.safe_dump_all([o for o in base if o["kind"] != "Namespace"], f, sort_keys=False)
    total = 0
    for path in sorted(git_ls(repo, "conformance/tests")):
        if path.endswith("main.go"):
            continue
        go = git_show(repo, path)
        for m in re.finditer(r"var (\w+) = suite\.ConformanceTest\{(.*?)\n\}\n", go, flags=re.S):
            short = re.search(r'ShortName:\s+"([^"]+)"', m.group(2)).group(1)
            features = re.findall(r"suite\.(Support\w+),", m.group(2))
            manifests = re.findall(r'Manifests: \[\]string\{"([^"]+)"\}', m.group(2))
            policies = []
            for man in manifests:
                policies += [d for d in yaml.safe_load_all(template(git_show(repo, f"conformance/{man}"))) if d]
            test = Test(short, path, manifests, base, policies)
            body = re.search(r"Test: func\(t \*testing\.T, s \*suite\.ConformanceTestSuite\) \{\n(.*)\n\t\},\n?$", m.group(2), flags=re.S)
            interpret(test, body.group(1))
            test.flush()
            doc = {
                "test": short,
                "source": f"kubernetes-sigs/network-policy-api@{commit[:12]} {path}",
                "manifests": manifests,
                "features": features,
                "subtests": test.subtests,
            }
            total += sum(len(ph["probes"]) for s in test.subtests for ph in s["phases"])
            with open(os.path.join(out, "cases", f"{short}.yaml"), "w") as f:
                f.write("# Generated by convert.py; do not edit.\n")
                yaml.dump(doc, f, Dumper=Dumper, sort_keys=False, width=100)
    print(f"{total} probes", file=sys.stderr)


if __name__ == "__main__":
    main()
