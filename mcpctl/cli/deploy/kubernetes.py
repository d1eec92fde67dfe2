"""`mcpctl deploy kubernetes`: a fleet's manifests: mcpctl Deployment, Service, autoscaler, and Redis."""

from __future__ import annotations

import json
from dataclasses import dataclass

from mcpctl import envvars
from mcpctl.auth.apikeys import KEYS_FILE
from mcpctl.cli.deploy.facts import CONTAINER_CONFIG, CONTAINER_HOME, CONTAINER_UID, Facts, quoted
from mcpctl.edge.routes import HEALTH_PATH, READY_PATH, SSE_PATH
from mcpctl.errors import UsageError
from mcpctl.paths import Paths

NAME = "mcpctl"
SECRET = "mcpctl-fleet"  # noqa: S105 (the Secret's name)
REDIS = "mcpctl-redis"
REDIS_PORT = 6379
SESSIONS_METRIC = "mcp_active_sessions"
KEYGEN = (
    "python3 -c 'import base64, secrets; print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())'"
)


@dataclass(frozen=True)
class Scale:
    image: str
    replicas: int
    max_replicas: int
    sessions_per_replica: int

    def check(self) -> None:
        if not 1 <= self.replicas <= self.max_replicas:
            raise UsageError(
                f"--replicas {self.replicas} and --max-replicas {self.max_replicas} do not fit",
                hint="use 1 <= --replicas <= --max-replicas",
            )
        if self.sessions_per_replica < 1:
            raise UsageError("--sessions-per-replica must be at least 1")


def render(facts: Facts, scale: Scale, keys_file: str) -> str:
    scale.check()
    # the header's comments open the first document: a document of comments alone would be empty
    return "---\n".join(
        [
            _header(facts, keys_file) + _deployment(facts, scale),
            _service(facts),
            _autoscaler(scale),
            *_redis(),
        ]
    )


def _header(facts: Facts, keys_file: str) -> str:
    secrets = "".join(
        f" \\\n#     --from-literal={name}=redis://{REDIS}:{REDIS_PORT}/0"
        if name == envvars.STATE_URL
        else f' \\\n#     --from-literal={name}="$({KEYGEN})"'
        for name in facts.secret_env()
    )
    lines = [
        "# A fleet of `mcpctl serve` instances on one Redis.",
        f"# Rendered by `mcpctl deploy kubernetes` ({facts.origin}).",
        "# The image: `mcpctl deploy container` (push it where the cluster pulls from and set --image).",
        "# Before `kubectl apply -f`, create what is not rendered here (secrets stay out of this file):",
        f"#   kubectl create secret generic {SECRET}{secrets}",
    ]
    if facts.source is not None:
        lines.append(f"#   kubectl create configmap {NAME}-config --from-file=mcpctl.toml={facts.source}")
    if facts.uses_api_keys:
        lines.append(f"#   kubectl create secret generic {NAME}-api-keys --from-file={KEYS_FILE}={keys_file}")
        lines.append(
            "# After `mcpctl keys create`, `revoke` or `rotate`, replace that secret and run\n"
            f"# `kubectl rollout restart deployment/{NAME}`: Kubernetes never refreshes a file mounted\n"
            "# by subPath, so a revoked key would go on working in the running pods."
        )
    if names := facts.keyring_secrets():
        lines.append(
            f"# Servers refer to keyring secrets ({', '.join(names)}): a pod has no keyring, so those\n"
            "# servers stay down until their values reach them another way (their env from a Secret, say)."
        )
    lines.append(
        f"# HTTP+SSE clients ({SSE_PATH}) are bound to the pod holding their stream: route them with\n"
        "# sticky sessions (`mcpctl deploy nginx` does, by client address) or run one replica."
    )
    return "\n".join(lines) + "\n"


def _deployment(facts: Facts, scale: Scale) -> str:
    port = facts.port
    env = "".join(
        f"""
            - name: {name}
              valueFrom:
                secretKeyRef: {{name: {SECRET}, key: {name}}}"""
        for name in facts.secret_env()
    )
    host_header = ""
    if facts.config.gateway.allowed_hosts:
        # with allowed_hosts set, mcpctl checks Host, and the kubelet sends the pod's IP
        allowed = quoted(facts.config.gateway.allowed_hosts[0])
        host_header = f"\n              httpHeaders: [{{name: Host, value: {allowed}}}]"
    mounts, volumes = [], []
    if facts.source is not None:
        mounts.append(
            f"            - {{name: config, mountPath: {quoted(CONTAINER_CONFIG)}, subPath: mcpctl.toml}}"
        )
        volumes.append(f"        - name: config\n          configMap: {{name: {NAME}-config}}")
    if facts.uses_api_keys:
        # where serve looks for the key hashes under the image's $MCPCTL_HOME
        path = quoted(str(Paths.from_env({envvars.HOME: CONTAINER_HOME}).state_dir / KEYS_FILE))
        mounts.append(
            f"            - {{name: api-keys, mountPath: {path}, subPath: {KEYS_FILE}, readOnly: true}}"
        )
        volumes.append(
            f"        - name: api-keys\n          secret: {{secretName: {NAME}-api-keys, defaultMode: 0440}}"
        )
    mount_text = ("\n          volumeMounts:\n" + "\n".join(mounts)) if mounts else ""
    volume_text = ("\n      volumes:\n" + "\n".join(volumes)) if volumes else ""
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {NAME}
  labels: {{app: {NAME}}}
spec:
  replicas: {scale.replicas}
  selector:
    matchLabels: {{app: {NAME}}}
  template:
    metadata:
      labels: {{app: {NAME}}}
    spec:
      # calls in flight finish ([gateway] shutdown_grace), then each child gets its shutdown_timeout
      terminationGracePeriodSeconds: {facts.stop_seconds}
      securityContext: {{runAsNonRoot: true, runAsUser: {CONTAINER_UID}, fsGroup: {CONTAINER_UID}}}
      containers:
        - name: {NAME}
          image: {quoted(scale.image)}
          command: {json.dumps(facts.serve_command())}
          ports:
            - {{name: http, containerPort: {port}}}
          env:{env}
          livenessProbe:
            httpGet:
              path: {HEALTH_PATH}
              port: http{host_header}
            periodSeconds: 10
            timeoutSeconds: 2
            failureThreshold: 3
          readinessProbe:
            # 503 until every required server is ready; Redis being away does not make a pod unready
            # (stateless 2026-07-28 calls still work there)
            httpGet:
              path: {READY_PATH}
              port: http{host_header}
            periodSeconds: 5
            timeoutSeconds: 2
            failureThreshold: 2
          startupProbe:
            # children may take a while to start (npx downloads)
            httpGet:
              path: {READY_PATH}
              port: http{host_header}
            periodSeconds: 2
            failureThreshold: 60
          resources:
            requests: {{cpu: 250m, memory: 256Mi}}
            limits: {{memory: 1Gi}}
          securityContext: {{allowPrivilegeEscalation: false}}{mount_text}{volume_text}
"""


def _service(facts: Facts) -> str:
    return f"""\
apiVersion: v1
kind: Service
metadata:
  name: {NAME}
  labels: {{app: {NAME}}}
spec:
  selector: {{app: {NAME}}}
  ports:
    - {{name: http, port: {facts.port}, targetPort: http}}
"""


def _autoscaler(scale: Scale) -> str:
    return f"""\
# Scales on the fleet's open 2025-era sessions. Every pod reports the whole fleet's count in
# {SESSIONS_METRIC}, so the autoscaler reads it once, as an External metric (max over pods): an
# AverageValue target then asks for ceil(sessions / {scale.sessions_per_replica}) pods. (As a Pods metric, the
# average over pods would be the fleet's total, and the fleet would grow to maxReplicas.)
# It needs a metrics adapter that serves Prometheus series to the external metrics API, such as
# prometheus-adapter with this rule (and Prometheus scraping the pods: README, "Health, readiness
# and metrics"):
#   externalRules:
#     - seriesQuery: '{SESSIONS_METRIC}{{namespace!="",pod!=""}}'
#       resources: {{overrides: {{namespace: {{resource: namespace}}}}}}
#       metricsQuery: 'max(<<.Series>>{{<<.LabelMatchers>>}})'
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {NAME}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {NAME}}}
  minReplicas: {scale.replicas}
  maxReplicas: {scale.max_replicas}
  metrics:
    - type: External
      external:
        metric:
          name: {SESSIONS_METRIC}
        target:
          type: AverageValue
          averageValue: {quoted(str(scale.sessions_per_replica))}
"""


def _redis() -> list[str]:
    deployment = f"""\
# The fleet's one Redis: sessions, GET-stream messages, rate-limit buckets, inboxes. With
# appendonly, sessions survive a Redis restart; without, clients start new sessions (404).
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {REDIS}
  labels: {{app: {REDIS}}}
spec:
  replicas: 1
  strategy: {{type: Recreate}}
  selector:
    matchLabels: {{app: {REDIS}}}
  template:
    metadata:
      labels: {{app: {REDIS}}}
    spec:
      containers:
        - name: redis
          image: "redis:7"
          args: ["redis-server", "--appendonly", "yes", "--dir", "/data"]
          ports:
            - {{name: redis, containerPort: {REDIS_PORT}}}
          readinessProbe:
            exec: {{command: ["redis-cli", "ping"]}}
            periodSeconds: 5
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{memory: 512Mi}}
          volumeMounts:
            - {{name: data, mountPath: /data}}
      volumes:
        - name: data
          persistentVolumeClaim: {{claimName: {REDIS}-data}}
"""
    claim = f"""\
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {REDIS}-data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests: {{storage: 1Gi}}
"""
    service = f"""\
apiVersion: v1
kind: Service
metadata:
  name: {REDIS}
  labels: {{app: {REDIS}}}
spec:
  selector: {{app: {REDIS}}}
  ports:
    - {{name: redis, port: {REDIS_PORT}, targetPort: redis}}
"""
    return [deployment, claim, service]
