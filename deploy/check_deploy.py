#!/usr/bin/env python3
"""Checks the deployment files in deploy/ (run by ctest as deploy_integration_check).

  deploy/check_deploy.py DEPLOY_DIR [--bin DIR]

- systemd units: `systemd-analyze verify` in a scratch root whose /usr/local/bin holds the
  binaries the units start (systemd-analyze needs no running systemd for this);
- compose.yaml and k8s/*.yaml: parsed, and their cross references checked (services, build
  files, volumes; selectors, ports, ConfigMap and Secret keys, $(VAR) references);
- Dockerfiles: base image Debian 12, every COPY --from names a stage, every repository file
  a RUN line uses exists;
- with --bin: every --flag the units, the compose file and the manifests pass to
  `fleettune tracker` or `fleettune-rpc-server` is one the binary's --help lists.
Exits 1 listing every problem found.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import yaml

problems = []


def problem(where, what):
    problems.append(f"{where}: {what}")


def help_flags(binary, *args):
    out = subprocess.run([binary, *args, "--help"], capture_output=True, text=True, timeout=60)
    return set(re.findall(r"--[a-z][a-z0-9-]*", out.stdout + out.stderr))


def check_flags(where, argv, flags):
    """argv: a command line after the program (and subcommand)."""
    if flags is None:
        return
    for arg in argv:
        if arg.startswith("--"):
            name = arg.split("=", 1)[0]
            if name not in flags:
                problem(where, f"{name} is not a flag of the binary (see its --help)")


def check_systemd(deploy, tracker_flags, board_flags):
    units = [os.path.join(deploy, "systemd", u)
             for u in ("fleettune-tracker.service", "fleettune-rpc-server@.service")]
    for unit in units:
        text = open(unit).read()
        exec_lines = re.findall(r"^ExecStart=(.*)$", text, re.M)
        if len(exec_lines) != 1:
            problem(unit, "needs exactly one ExecStart=")
            continue
        argv = shlex.split(exec_lines[0])
        if argv[0] == "/usr/local/bin/fleettune":
            if argv[1:2] != ["tracker"]:
                problem(unit, "ExecStart must run `fleettune tracker`")
            check_flags(unit, argv[2:], tracker_flags)
        elif argv[0] == "/usr/local/bin/fleettune-rpc-server":
            check_flags(unit, argv[1:], board_flags)
        else:
            problem(unit, f"unexpected program {argv[0]}")
        for path in re.findall(r"^LoadCredential=[^:]+:(.*)$", text, re.M):
            if not path.startswith("/etc/fleettune/"):
                problem(unit, f"credential {path} outside /etc/fleettune")
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        print("deploy check: systemd-analyze not installed; units only parsed", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as root:
        bindir = os.path.join(root, "usr/local/bin")
        unitdir = os.path.join(root, "etc/systemd/system")
        os.makedirs(bindir)
        os.makedirs(unitdir)
        # systemd's own units (sysinit.target, ...) that every service depends on.
        if os.path.isdir("/usr/lib/systemd/system"):
            os.makedirs(os.path.join(root, "usr/lib/systemd"))
            os.symlink("/usr/lib/systemd/system", os.path.join(root, "usr/lib/systemd/system"))
        for name in ("fleettune", "fleettune-rpc-server"):
            path = os.path.join(bindir, name)
            with open(path, "w") as f:
                f.write("#!/bin/sh\n")
            os.chmod(path, 0o755)
        paths = []
        for unit in units:
            shutil.copy(unit, unitdir)
            base = os.path.basename(unit)
            # A template is verified through an instance of it.
            paths.append(os.path.join(unitdir, base.replace("@.", "@board.")))
            if "@." in base:
                shutil.copy(unit, paths[-1])
        result = subprocess.run([analyze, "verify", f"--root={root}", "--man=no", *paths],
                                capture_output=True, text=True, timeout=60)
        # Only lines about our units count: verify also reports on the host's own units.
        ours = [line for line in (result.stdout + result.stderr).splitlines()
                if "fleettune" in line]
        if result.returncode != 0 or ours:
            problem("systemd-analyze verify",
                    f"exit {result.returncode}\n" + "\n".join(ours or [result.stderr]))


def check_dockerfiles(deploy, repo):
    for name in ("Dockerfile.tracker", "Dockerfile.board"):
        path = os.path.join(deploy, "docker", name)
        text = open(path).read()
        stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M | re.I)
        if not stages:
            problem(path, "no FROM")
            continue
        for image, _ in stages:
            if not re.match(r"debian:12(-slim)?$", image):
                problem(path, f"base image {image} is not Debian 12")
        names = {stage for _, stage in stages if stage}
        for stage in re.findall(r"COPY\s+--from=(\S+)", text):
            if stage not in names:
                problem(path, f"COPY --from={stage}: no such stage")
        for script in re.findall(r"\b((?:scripts|deploy)/[\w./-]+\.sh)\b", text):
            if not os.path.exists(os.path.join(repo, script)):
                problem(path, f"uses {script}, which does not exist")
        if "ENTRYPOINT" not in text:
            problem(path, "no ENTRYPOINT")


def check_compose(deploy, tracker_flags, board_flags):
    path = os.path.join(deploy, "compose.yaml")
    doc = yaml.safe_load(open(path))
    services = doc.get("services") or {}
    volumes = set((doc.get("volumes") or {}).keys())
    for want in ("tracker", "board1", "board2", "tuner"):
        if want not in services:
            problem(path, f"no service {want}")
    for name, service in services.items():
        where = f"{path}: service {name}"
        if "image" not in service and "build" not in service:
            problem(where, "neither image nor build")
        build = service.get("build")
        if build:
            context = os.path.normpath(os.path.join(deploy, build.get("context", ".")))
            dockerfile = os.path.join(context, build.get("dockerfile", "Dockerfile"))
            if not os.path.exists(dockerfile):
                problem(where, f"build file {dockerfile} does not exist")
        for dep in service.get("depends_on") or []:
            if dep not in services:
                problem(where, f"depends on unknown service {dep}")
        for mount in service.get("volumes") or []:
            source = mount.split(":", 1)[0]
            if not source.startswith((".", "/")) and source not in volumes:
                problem(where, f"volume {source} is not declared")
        command = service.get("command")
        if isinstance(command, list) and service.get("image") == "fleettune-tracker" \
                and command[:1] == ["tracker"]:
            check_flags(where, command[1:], tracker_flags)
        if isinstance(command, list) and service.get("image") == "fleettune-board":
            check_flags(where, command, board_flags)
            if "--key" not in command or "--tracker" not in command:
                problem(where, "a board needs --tracker and --key")
    if services.get("tuner", {}).get("restart") not in ("no", None):
        problem(path, "the tuner is a one-shot service (restart: \"no\")")


def check_k8s(deploy, tracker_flags):
    path = os.path.join(deploy, "k8s", "tracker.yaml")
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    before = len(problems)
    by_kind = {}
    for d in docs:
        for key in ("apiVersion", "kind", "metadata"):
            if key not in d:
                problem(path, f"a document without {key}")
        by_kind.setdefault(d.get("kind"), []).append(d)
    for kind in ("Secret", "ConfigMap", "Deployment", "Service"):
        if kind not in by_kind:
            problem(path, f"no {kind}")
    if len(problems) > before:
        return
    secrets = {s["metadata"]["name"]: set((s.get("stringData") or s.get("data") or {}).keys())
               for s in by_kind["Secret"]}
    configs = {c["metadata"]["name"]: set((c.get("data") or {}).keys())
               for c in by_kind["ConfigMap"]}
    for deployment in by_kind["Deployment"]:
        where = f"{path}: Deployment {deployment['metadata']['name']}"
        spec = deployment["spec"]
        labels = spec["template"]["metadata"].get("labels", {})
        for k, v in spec["selector"]["matchLabels"].items():
            if labels.get(k) != v:
                problem(where, f"selector {k}={v} does not match the pod labels")
        if spec.get("replicas", 1) != 1:
            problem(where, "the tracker keeps its state in memory: exactly one replica")
        pod = spec["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for container in pod["containers"]:
            env = {}
            for e in container.get("env", []):
                env[e["name"]] = e
                ref = e.get("valueFrom", {}).get("configMapKeyRef")
                if ref and ref["key"] not in configs.get(ref["name"], set()):
                    problem(where, f"env {e['name']}: no key {ref['key']} in ConfigMap "
                            f"{ref['name']}")
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["key"] not in secrets.get(ref["name"], set()):
                    problem(where, f"env {e['name']}: no key {ref['key']} in Secret {ref['name']}")
            args = container.get("args", [])
            for arg in args:
                for var in re.findall(r"\$\((\w+)\)", arg):
                    if var not in env:
                        problem(where, f"args use $({var}), which env does not define")
            if args[:1] == ["tracker"]:
                check_flags(where, args[1:], tracker_flags)
            port_names = {p.get("name") for p in container.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe"):
                for handler in ("tcpSocket", "httpGet"):
                    port = container.get(probe, {}).get(handler, {}).get("port")
                    if isinstance(port, str) and port not in port_names:
                        problem(where, f"{probe} uses unknown port {port}")
            for mount in container.get("volumeMounts", []):
                if mount["name"] not in volumes:
                    problem(where, f"mount of unknown volume {mount['name']}")
        for volume in volumes.values():
            secret = volume.get("secret")
            if secret:
                for item in secret.get("items", []):
                    if item["key"] not in secrets.get(secret["secretName"], set()):
                        problem(where, f"volume {volume['name']}: no key {item['key']} in "
                                f"Secret {secret['secretName']}")
        for service in by_kind["Service"]:
            swhere = f"{path}: Service {service['metadata']['name']}"
            for k, v in service["spec"]["selector"].items():
                if labels.get(k) != v:
                    problem(swhere, f"selector {k}={v} matches no pod of the Deployment")
            names = {p.get("name") for c in pod["containers"] for p in c.get("ports", [])}
            for port in service["spec"]["ports"]:
                target = port.get("targetPort")
                if isinstance(target, str) and target not in names:
                    problem(swhere, f"targetPort {target} is no container port")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    deploy = os.path.abspath(sys.argv[1])
    repo = os.path.dirname(deploy)
    tracker_flags = board_flags = None
    if "--bin" in sys.argv:
        bindir = sys.argv[sys.argv.index("--bin") + 1]
        tracker_flags = help_flags(os.path.join(bindir, "fleettune"), "tracker")
        board_flags = help_flags(os.path.join(bindir, "fleettune-rpc-server"))
    check_systemd(deploy, tracker_flags, board_flags)
    check_dockerfiles(deploy, repo)
    check_compose(deploy, tracker_flags, board_flags)
    check_k8s(deploy, tracker_flags)
    if problems:
        print("deploy check failed:\n  " + "\n  ".join(problems))
        return 1
    print("deploy check: systemd units, Dockerfiles, compose.yaml and k8s/tracker.yaml are "
          "consistent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
