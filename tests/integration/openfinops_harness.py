"""Run the published OpenFinOps 0.3.0 agents with their cloud SDKs stubbed.

The agents' own code builds and posts every payload: tests/integration/test_openfinops_agents.py
loads them from the sdist ``pip download`` fetches (never committed). Only what they talk to is
fake: boto3 runs against moto, and the Azure, Google Cloud, Databricks and Snowflake SDKs, psutil
and the SaaS vendors' HTTP APIs are replaced by objects returning the shapes those SDKs and APIs
document (attribute names of the SDK models, JSON of the REST APIs). The clock is pinned: each
agent module's ``time`` and ``datetime`` are replaced, so every payload is the same on every run.
"""

from __future__ import annotations

import enum
import importlib.util
import io
import json
import os
import sys
import types
import zipfile
from collections import namedtuple
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace as NS
from typing import Any, Callable

import requests

UTC = timezone.utc
PINNED = datetime(2026, 11, 30, 23, 47, 13, 250000, tzinfo=UTC)   # the last hour of a 720-hour month
EPOCH = PINNED.timestamp()
AGENTS = ("aws", "azure", "gcp", "databricks", "snowflake", "saas_services", "generic")
REGION = "us-west-2"


# ---------------------------------------------------------------- the pinned clock

class PinnedTime:
    """Stands in for the ``time`` module inside an agent: ``time()`` is the pinned instant."""

    def __init__(self, epoch: float = EPOCH):
        self.epoch = epoch

    def time(self) -> float:
        return self.epoch

    def sleep(self, seconds: float) -> None:
        self.epoch += seconds


class PinnedDatetime(datetime):
    """``datetime`` inside an agent: now/utcnow are the pinned instant, local time is UTC (as in a container)."""

    @classmethod
    def utcnow(cls):
        return datetime(*PINNED.timetuple()[:6], PINNED.microsecond)

    @classmethod
    def now(cls, tz=None):
        return cls.utcnow() if tz is None else PINNED.astimezone(tz)

    @classmethod
    def fromtimestamp(cls, t, tz=None):
        d = datetime.fromtimestamp(t, UTC)
        return d.replace(tzinfo=None) if tz is None else d.astimezone(tz)


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


# ---------------------------------------------------------------- loading an agent

def module(name: str, **attrs: Any) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    return m


def load_agent(agents_dir: Path, name: str, fakes: dict[str, types.ModuleType], monkeypatch) -> types.ModuleType:
    """Import ``agents/<name>_telemetry_agent.py`` with ``fakes`` in sys.modules and the clock pinned."""
    for mod_name, fake in fakes.items():
        monkeypatch.setitem(sys.modules, mod_name, fake)
        parent, _, child = mod_name.rpartition(".")
        if parent and parent in sys.modules:
            monkeypatch.setattr(sys.modules[parent], child, fake, raising=False)
    path = agents_dir / f"{name}_telemetry_agent.py"
    spec = importlib.util.spec_from_file_location(f"openfinops_agent_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.time = PinnedTime()
    mod.datetime = PinnedDatetime
    return mod


class Wire:
    """The agent's ``requests``: POSTs go to the real API over HTTP and are recorded; GETs to SaaS
    vendors are answered by ``vendor`` (URL -> JSON), as their REST APIs document."""

    def __init__(self, vendor: Callable[[str, dict], Any] | None = None):
        self.vendor = vendor
        self.posts: list[requests.Response] = []
        self.exceptions = requests.exceptions

    def post(self, url, json=None, timeout=None, **kw):
        resp = requests.post(url, json=json, timeout=timeout or 60, **kw)
        self.posts.append(resp)
        return resp

    def get(self, url, headers=None, params=None, timeout=None, auth=None, **kw):
        if self.vendor is None:
            raise AssertionError(f"unexpected GET {url}")
        body = self.vendor(url, params or {})
        resp = requests.Response()
        resp.status_code = 200 if body is not None else 404
        resp._content = json.dumps(body).encode()
        resp.url = url
        return resp

    def sent(self, path: str) -> requests.Response:
        return [r for r in self.posts if r.request.url.endswith(path)][-1]


@dataclass
class AgentRun:
    name: str
    registered: requests.Response
    telemetry: requests.Response
    agent_ok: bool                       # what the agent itself concluded (True: it saw 200)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def wire(self) -> bytes:
        """The exact bytes the agent posted."""
        body = self.telemetry.request.body
        return body if isinstance(body, bytes) else body.encode()


# ---------------------------------------------------------------- psutil (AWS imports it; generic reads it)

def fake_psutil() -> types.ModuleType:
    svmem = namedtuple("svmem", "total available percent used free active inactive buffers cached shared slab")
    sswap = namedtuple("sswap", "total used free percent sin sout")
    sdiskusage = namedtuple("sdiskusage", "total used free percent")
    sdiskio = namedtuple("sdiskio", "read_count write_count read_bytes write_bytes read_time write_time")
    snetio = namedtuple("snetio", "bytes_sent bytes_recv packets_sent packets_recv errin errout dropin dropout")
    scpufreq = namedtuple("scpufreq", "current min max")
    gib = 1024 ** 3
    return module(
        "psutil",
        cpu_percent=lambda interval=None, percpu=False: 23.5,
        cpu_count=lambda logical=True: 8,
        cpu_freq=lambda percpu=False: scpufreq(2400.0, 800.0, 3500.0),
        virtual_memory=lambda: svmem(16 * gib, 9 * gib, 43.75, 7 * gib, 6 * gib, 5 * gib, 2 * gib, 1024 ** 2,
                                     2 * gib, 256 * 1024 ** 2, 512 * 1024 ** 2),
        swap_memory=lambda: sswap(2 * gib, 256 * 1024 ** 2, 2 * gib - 256 * 1024 ** 2, 12.5, 0, 0),
        disk_usage=lambda path: sdiskusage(500 * gib, 125 * gib, 375 * gib, 25.0),
        disk_io_counters=lambda perdisk=False: sdiskio(120000, 80000, 9 * gib, 4 * gib, 5000, 7000),
        net_io_counters=lambda pernic=False: snetio(3 * gib, 11 * gib, 2400000, 9100000, 0, 2, 0, 17),
        pids=lambda: list(range(1, 213)),
        process_iter=lambda attrs=None: iter(()),
        NoSuchProcess=type("NoSuchProcess", (Exception,), {}),
        AccessDenied=type("AccessDenied", (Exception,), {}),
    )


# ---------------------------------------------------------------- AWS (moto)

def seed_aws() -> dict[str, Any]:
    """An account in moto: EC2 instances (two of them EKS nodes), an EKS cluster with two node groups,
    Lambda functions, an RDS instance, S3 buckets, and the CloudWatch statistics the agent reads."""
    import boto3
    ec2 = boto3.client("ec2", REGION)
    cw = boto3.client("cloudwatch", REGION)
    ami = next(i["ImageId"] for i in ec2.describe_images()["Images"] if not i.get("Platform"))

    def run(itype: str, count: int, tags: dict[str, str]) -> list[str]:
        r = ec2.run_instances(ImageId=ami, MinCount=count, MaxCount=count, InstanceType=itype,
                              TagSpecifications=[{"ResourceType": "instance",
                                                  "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}])
        return [i["InstanceId"] for i in r["Instances"]]

    web = run("m5.large", 2, {"team": "web", "Name": "web"})
    ops = run("t3.micro", 1, {"team": "ops"})
    nodes = run("m5.large", 2, {"eks:cluster-name": "prod", "eks:nodegroup-name": "ng-tagged",
                                "kubernetes.io/cluster/prod": "owned"})

    def stat(ns: str, metric: str, dim: str, value_id: str, value: float, at: datetime, unit: str = "None",
             extra: list | None = None) -> None:
        cw.put_metric_data(Namespace=ns, MetricData=[{
            "MetricName": metric, "Dimensions": [{"Name": dim, "Value": value_id}] + (extra or []),
            "Timestamp": at, "Value": value, "Unit": unit}])

    stat("AWS/EC2", "CPUUtilization", "InstanceId", web[0], 37.5, PINNED - timedelta(minutes=4), "Percent")
    iam = boto3.client("iam")
    role = iam.create_role(RoleName="agents-test-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": [
            "lambda.amazonaws.com", "eks.amazonaws.com", "ec2.amazonaws.com"]},
        "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    eks = boto3.client("eks", REGION)
    eks.create_cluster(name="prod", version="1.30", roleArn=role, resourcesVpcConfig={"subnetIds": subnets})
    eks.create_nodegroup(clusterName="prod", nodegroupName="ng-tagged", nodeRole=role, subnets=subnets,
                         instanceTypes=["m5.large"], scalingConfig={"minSize": 1, "maxSize": 4, "desiredSize": 2})
    eks.create_nodegroup(clusterName="prod", nodegroupName="ng-plain", nodeRole=role, subnets=subnets,
                         instanceTypes=["c5.xlarge"], scalingConfig={"minSize": 0, "maxSize": 6, "desiredSize": 3})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return 1\n")
    lam = boto3.client("lambda", REGION)
    for fn, mem in (("api-handler", 512), ("nightly-report", 1024)):
        lam.create_function(FunctionName=fn, Runtime="python3.12", Role=role, Handler="app.handler",
                            Code={"ZipFile": buf.getvalue()}, MemorySize=mem, Timeout=30)
    stat("AWS/Lambda", "Invocations", "FunctionName", "api-handler", 1200, PINNED - timedelta(minutes=30), "Count")
    stat("AWS/Lambda", "Duration", "FunctionName", "api-handler", 230.5, PINNED - timedelta(minutes=30),
         "Milliseconds")
    rds = boto3.client("rds", REGION)
    rds.create_db_instance(DBInstanceIdentifier="orders-db", DBInstanceClass="db.m5.large", Engine="postgres",
                           AllocatedStorage=100, MasterUsername="app", MasterUserPassword="not-a-secret-1",
                           MultiAZ=True, BackupRetentionPeriod=7)
    stat("AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", "orders-db", 21.25, PINNED - timedelta(minutes=3),
         "Percent")
    stat("AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", "orders-db", 14, PINNED - timedelta(minutes=3),
         "Count")
    s3 = boto3.client("s3", REGION)
    for b in ("logs-archive", "static-assets"):
        s3.create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": REGION})
    storage = [{"Name": "StorageType", "Value": "StandardStorage"}]
    stat("AWS/S3", "BucketSizeBytes", "BucketName", "logs-archive", 500 * 1024 ** 3, PINNED - timedelta(days=1),
         "Bytes", storage)
    stat("AWS/S3", "NumberOfObjects", "BucketName", "logs-archive", 120000, PINNED - timedelta(days=1), "Count",
         [{"Name": "StorageType", "Value": "AllStorageTypes"}])
    return {"web": web, "ops": ops, "eks_nodes": nodes}


def run_aws(agents_dir: Path, endpoint: str, monkeypatch) -> AgentRun:
    from moto import mock_aws
    with mock_aws():
        seeded = seed_aws()
        mod = load_agent(agents_dir, "aws", {"psutil": fake_psutil()}, monkeypatch)
        wire = mod.requests = Wire()
        agent = mod.AWSTelemetryAgent(openfinops_endpoint=endpoint, aws_region=REGION,
                                      agent_id="aws-agent-ci-host-0a1b2c3d")
        agent.hostname = "ci-host"
        agent.start_time = EPOCH - 7200
        agent.register_agent()
        payload = agent.collect_telemetry_data()
        ok = agent.send_telemetry_data(payload)
    return AgentRun("aws", wire.sent("/api/v1/agents/register"), wire.sent("/api/v1/telemetry/ingest"), ok,
                    seeded)


# ---------------------------------------------------------------- Azure

def _arm(sub: str, rg: str, provider: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{provider}/{name}"


AZURE_SUB = "00000000-1111-2222-3333-444444444444"


def azure_fakes() -> dict[str, types.ModuleType]:
    """azure-identity and the azure-mgmt-* clients, answering with their model classes' attributes."""
    sub = AZURE_SUB
    enum_ = lambda n: NS(name=n, value=n.capitalize())  # noqa: E731 (azure-core's case-insensitive str enums)
    vms = [
        NS(id=_arm(sub, "rg-web", "Microsoft.Compute", "virtualMachines/vm-web-1"), name="vm-web-1", location="eastus",
           hardware_profile=NS(vm_size="Standard_D2s_v3"), provisioning_state="Succeeded", tags={"team": "web"},
           storage_profile=NS(os_disk=NS(os_type=enum_("LINUX"), disk_size_gb=128,
                                         managed_disk=NS(storage_account_type="Premium_LRS")))),
        NS(id=_arm(sub, "rg-batch", "Microsoft.Compute", "virtualMachines/vm-batch-1"), name="vm-batch-1",
           location="westeurope", hardware_profile=NS(vm_size="Standard_F8s_v2"), provisioning_state="Succeeded",
           tags=None, storage_profile=NS(os_disk=NS(os_type=enum_("WINDOWS"), disk_size_gb=256, managed_disk=None))),
    ]
    power = {"vm-web-1": "PowerState/running", "vm-batch-1": "PowerState/deallocated"}
    compute = NS(virtual_machines=NS(
        list_all=lambda: iter(vms), list=lambda rg: iter(v for v in vms if f"/{rg}/" in v.id),
        instance_view=lambda rg, name: NS(statuses=[NS(code="ProvisioningState/succeeded"), NS(code=power[name])])))
    aks = [NS(name="aks-prod", location="eastus", kubernetes_version="1.29.4", provisioning_state="Succeeded",
              power_state=NS(code="Running"),
              id=_arm(sub, "rg-aks", "Microsoft.ContainerService", "managedClusters/aks-prod"),
              agent_pool_profiles=[
                  NS(name="system", count=3, vm_size="Standard_D4s_v3", os_type="Linux", mode="System", max_pods=110,
                     enable_auto_scaling=False, min_count=None, max_count=None),
                  NS(name="gpu", count=2, vm_size="Standard_NC6s_v3", os_type="Linux", mode="User", max_pods=30,
                     enable_auto_scaling=True, min_count=0, max_count=4)])]
    containers = NS(managed_clusters=NS(list=lambda: iter(aks), list_by_resource_group=lambda rg: iter(aks)))
    apps = [NS(kind="functionapp,linux", name="fn-thumbnails", location="eastus", state="Running",
               site_config=NS(python_version="3.11"), id=_arm(sub, "rg-fn", "Microsoft.Web", "sites/fn-thumbnails"),
               default_host_name="fn-thumbnails.azurewebsites.net"),
            NS(kind="app", name="web-portal", location="eastus", state="Running", site_config=None,
               id=_arm(sub, "rg-web", "Microsoft.Web", "sites/web-portal"),
               default_host_name="web-portal.azurewebsites.net")]
    web = NS(web_apps=NS(list=lambda: iter(apps), list_by_resource_group=lambda rg: iter(apps)))
    servers = [NS(name="sql-orders", location="eastus", version="12.0", state="Ready",
                  fully_qualified_domain_name="sql-orders.database.windows.net",
                  id=_arm(sub, "rg-data", "Microsoft.Sql", "servers/sql-orders"))]
    dbs = [NS(name="master", status="Online", service_level_objective="System", edition="System",
              collation="SQL_Latin1_General_CP1_CI_AS", creation_date=datetime(2024, 3, 1, tzinfo=UTC),
              max_size_bytes=32 * 1024 ** 3),
           NS(name="orders", status="Online", service_level_objective="S3", edition="Standard",
              collation="SQL_Latin1_General_CP1_CI_AS", creation_date=datetime(2024, 3, 2, 9, 30, tzinfo=UTC),
              max_size_bytes=250 * 1024 ** 3)]
    sql = NS(servers=NS(list=lambda: iter(servers), list_by_resource_group=lambda rg: iter(servers)),
             databases=NS(list_by_server=lambda rg, name: iter(dbs)))
    accounts = [NS(name="stlogs001", location="eastus", sku=NS(name="Standard_LRS", tier=enum_("STANDARD")),
                   kind=enum_("STORAGE_V2"), provisioning_state=enum_("SUCCEEDED"),
                   creation_time=datetime(2023, 5, 4, 12, 0, tzinfo=UTC),
                   id=_arm(sub, "rg-data", "Microsoft.Storage", "storageAccounts/stlogs001"),
                   primary_endpoints=NS(blob="https://stlogs001.blob.core.windows.net/", file=None,
                                        queue="https://stlogs001.queue.core.windows.net/", table=None))]
    storage = NS(storage_accounts=NS(list=lambda: iter(accounts), list_by_resource_group=lambda rg: iter(accounts)))
    clients = {"ComputeManagementClient": compute, "ContainerServiceClient": containers,
               "WebSiteManagementClient": web, "SqlManagementClient": sql, "StorageManagementClient": storage,
               "MonitorManagementClient": NS(), "ResourceManagementClient": NS(), "ConsumptionManagementClient": NS()}

    def client(name: str):
        return lambda credential, subscription_id: clients[name]

    mods = {"azure": module("azure"), "azure.identity": module("azure.identity", DefaultAzureCredential=lambda: NS()),
            "azure.mgmt": module("azure.mgmt")}
    for pkg, cls in (("compute", "ComputeManagementClient"), ("containerservice", "ContainerServiceClient"),
                     ("web", "WebSiteManagementClient"), ("sql", "SqlManagementClient"),
                     ("storage", "StorageManagementClient"), ("monitor", "MonitorManagementClient"),
                     ("resource", "ResourceManagementClient"), ("consumption", "ConsumptionManagementClient")):
        mods[f"azure.mgmt.{pkg}"] = module(f"azure.mgmt.{pkg}", **{cls: client(cls)})
    return mods


def run_nested(mod: types.ModuleType, name: str, agent: Any, collect: Callable[[], dict]) -> AgentRun:
    """The agents with an ``metrics`` envelope: collect with their own method, send with their own."""
    wire = mod.requests
    agent.start_time = EPOCH - 3600
    agent.register_agent()
    ok = agent.send_telemetry_data(collect())
    return AgentRun(name, wire.sent("/api/v1/agents/register"), wire.sent("/api/v1/telemetry/ingest"), ok)


def run_azure(agents_dir: Path, endpoint: str, monkeypatch) -> AgentRun:
    mod = load_agent(agents_dir, "azure", azure_fakes(), monkeypatch)
    mod.requests = Wire()
    agent = mod.AzureTelemetryAgent(openfinops_endpoint=endpoint, subscription_id=AZURE_SUB)
    return run_nested(mod, "azure", agent, agent.collect_all_metrics)


# ---------------------------------------------------------------- Google Cloud

class SqlDatabaseVersion(enum.IntEnum):   # proto-plus enums are IntEnums: JSON writes their number
    POSTGRES_15 = 396


class SqlDataDiskType(enum.IntEnum):
    PD_SSD = 1


def gcp_fakes() -> dict[str, types.ModuleType]:
    """google-cloud-* clients answering with their proto-plus message fields."""
    project = "acme-prod"
    mt = f"https://www.googleapis.com/compute/v1/projects/{project}/zones"
    zones = [NS(name="us-central1-a"), NS(name="us-central1-b"), NS(name="europe-west1-b")]
    instances = {
        "us-central1-a": [NS(id=4811111111111111111, name="api-1", status="RUNNING",
                             machine_type=f"{mt}/us-central1-a/machineTypes/e2-standard-4",
                             creation_timestamp="2026-09-01T08:00:00.000-07:00", tags=NS(items=["http-server", "api"])),
                          NS(id=4822222222222222222, name="old-batch", status="TERMINATED",
                             machine_type=f"{mt}/us-central1-a/machineTypes/n2-standard-8",
                             creation_timestamp="2025-01-10T10:00:00.000-08:00", tags=None)],
        "us-central1-b": [NS(id=4833333333333333333, name="worker-1", status="RUNNING",
                             machine_type=f"{mt}/us-central1-b/machineTypes/c3-standard-8",
                             creation_timestamp="2026-10-15T00:00:00.000-07:00", tags=None)],
    }
    cpu = {4811111111111111111: 0.4125, 4833333333333333333: 0.875}
    executions = {"resize": [NS(value=NS(int64_value=1500)), NS(value=NS(int64_value=250))]}

    def list_time_series(request):
        f = request["filter"]
        if "cpu/utilization" in f:
            iid = int(f.split('instance_id="')[1].rstrip('"'))
            return [NS(points=[NS(value=NS(double_value=cpu[iid]))])] if iid in cpu else []
        if "function/executions" in f:
            fn = f.split('function_name="')[1].rstrip('"')
            return [NS(points=executions.get(fn, []))]
        return []

    clusters = [NS(name="gke-prod", status=NS(name="RUNNING"), current_node_count=5, current_master_version="1.30.3-gke.1",
                   node_pools=[NS(name="default-pool", initial_node_count=3, autoscaling=NS(enabled=True),
                                  config=NS(machine_type="e2-standard-4", disk_size_gb=100)),
                               NS(name="highmem", initial_node_count=2, autoscaling=None,
                                  config=NS(machine_type="n2-highmem-8", disk_size_gb=200))])]
    functions = [NS(name=f"projects/{project}/locations/us-central1/functions/resize", runtime="python311",
                    status=NS(name="ACTIVE"), available_memory_mb=256, timeout=NS(seconds=60)),
                 NS(name=f"projects/{project}/locations/us-central1/functions/cleanup", runtime="nodejs20",
                    status=NS(name="ACTIVE"), available_memory_mb=128, timeout=None)]
    sql_instances = [NS(name="orders-pg", database_version=SqlDatabaseVersion.POSTGRES_15, state=NS(name="RUNNABLE"),
                        region="us-central1", settings=NS(tier="db-custom-2-7680", data_disk_size_gb=100,
                                                          data_disk_type=SqlDataDiskType.PD_SSD,
                                                          backup_configuration=NS(enabled=True)))]

    class Bucket:
        def __init__(self, name, location, storage_class, created, sizes):
            self.name, self.location, self.storage_class, self.time_created = name, location, storage_class, created
            self.versioning_enabled, self.lifecycle_rules, self._sizes = False, [], sizes

        def list_blobs(self, max_results=None):
            return [NS(size=s) for s in self._sizes[:max_results]]

    buckets = [Bucket("acme-prod-logs", "US", "STANDARD", datetime(2024, 1, 2, tzinfo=UTC), [1048576, 2097152, 0]),
               Bucket("acme-prod-backups", "US-CENTRAL1", "NEARLINE", datetime(2024, 6, 1, tzinfo=UTC), [5368709120])]

    g = {
        "google": module("google"), "google.cloud": module("google.cloud"),
        "google.auth": module("google.auth", default=lambda: (NS(token="fake"), project)),
        "google.cloud.monitoring_v3": module(
            "google.cloud.monitoring_v3",
            MetricServiceClient=lambda credentials=None: NS(list_time_series=list_time_series),
            TimeInterval=lambda d: d,
            ListTimeSeriesRequest=NS(TimeSeriesView=NS(FULL="FULL"))),
        "google.cloud.compute_v1": module(
            "google.cloud.compute_v1",
            InstancesClient=lambda credentials=None: NS(list=lambda project, zone: iter(instances.get(zone, []))),
            ZonesClient=lambda credentials=None: NS(list=lambda project: iter(zones))),
        "google.cloud.container_v1": module(
            "google.cloud.container_v1",
            ClusterManagerClient=lambda credentials=None: NS(list_clusters=lambda parent: NS(clusters=clusters))),
        "google.cloud.functions_v1": module(
            "google.cloud.functions_v1",
            CloudFunctionsServiceClient=lambda credentials=None: NS(list_functions=lambda parent: iter(functions))),
        "google.cloud.sql_v1": module(
            "google.cloud.sql_v1", SqlInstancesListRequest=lambda project: NS(project=project),
            SqlInstancesServiceClient=lambda credentials=None: NS(list=lambda request: NS(items=sql_instances))),
        "google.cloud.storage": module("google.cloud.storage", Client=lambda credentials=None: NS(
            list_buckets=lambda: iter(buckets))),
        "google.cloud.billing_v1": module("google.cloud.billing_v1"),
    }
    g["google"].cloud = g["google.cloud"]
    g["google"].auth = g["google.auth"]
    for k, v in g.items():
        if k.startswith("google.cloud."):
            setattr(g["google.cloud"], k.rsplit(".", 1)[1], v)
    return g


def run_gcp(agents_dir: Path, endpoint: str, monkeypatch) -> AgentRun:
    mod = load_agent(agents_dir, "gcp", gcp_fakes(), monkeypatch)
    mod.requests = Wire()
    agent = mod.GCPTelemetryAgent(openfinops_endpoint=endpoint, project_id="acme-prod", region="us-central1")
    return run_nested(mod, "gcp", agent, agent.collect_all_metrics)


# ---------------------------------------------------------------- Databricks

def databricks_fakes() -> dict[str, types.ModuleType]:
    """databricks-sdk's WorkspaceClient with ClusterDetails, BaseRun and EndpointInfo objects."""
    v = lambda s: NS(value=s) if s else None  # noqa: E731 (the SDK's enums carry .value)
    clusters = [
        NS(cluster_id="0930-101010-abc1", cluster_name="etl-shared", state=v("RUNNING"),
           start_time=ms(PINNED - timedelta(hours=5, minutes=30)), node_type_id="m5.xlarge", num_workers=4,
           driver_node_type_id="m5.xlarge", spark_version="15.4.x-scala2.12", cluster_source=v("UI"),
           creator_user_name="data-eng@acme.example", state_message=""),
        NS(cluster_id="1130-232713-adh2", cluster_name="adhoc", state=v("RUNNING"),
           start_time=ms(PINNED - timedelta(minutes=20)), node_type_id="r5.large", num_workers=1,
           driver_node_type_id="r5.large", spark_version="15.4.x-scala2.12", cluster_source=None,
           creator_user_name="analyst@acme.example", state_message=""),
        NS(cluster_id="1130-233713-job3", cluster_name="job-123-run-457", state=v("RUNNING"),
           start_time=ms(PINNED - timedelta(minutes=10)), node_type_id="m5.large", num_workers=2,
           driver_node_type_id="m5.large", spark_version="15.4.x-scala2.12", cluster_source=v("JOB"),
           creator_user_name="scheduler@acme.example", state_message=""),
        NS(cluster_id="0101-000000-old4", cluster_name="old-experiments", state=v("TERMINATED"),
           start_time=ms(datetime(2026, 1, 1, tzinfo=UTC)), node_type_id="m5.large", num_workers=0,
           driver_node_type_id="m5.large", spark_version="14.3.x-scala2.12", cluster_source=v("UI"),
           creator_user_name="analyst@acme.example",
           state_message="Inactive cluster terminated (inactive for 120 minutes)."),
    ]

    def run(run_id, job_id, name, start, end, result, new_cluster):
        spec = NS(new_cluster=new_cluster, existing_cluster_id=None if new_cluster else "0930-101010-abc1")
        return NS(run_id=run_id, job_id=job_id, run_name=name, start_time=ms(start), end_time=ms(end),
                  state=NS(life_cycle_state=v("TERMINATED"), result_state=v(result)), cluster_spec=spec,
                  creator_user_name="scheduler@acme.example",
                  run_page_url=f"https://dbc-1234.cloud.databricks.com/#job/{job_id}/run/{run_id}")

    day = PINNED.replace(hour=0, minute=0, second=0, microsecond=0)
    runs = [
        run(456, 123, "nightly-etl", day + timedelta(hours=21), day + timedelta(hours=21, minutes=45), "SUCCESS",
            NS(node_type_id="m5.large", num_workers=2)),
        run(455, 124, "refresh-dashboards", day + timedelta(hours=22, minutes=10), day + timedelta(hours=22, minutes=40),
            "FAILED", NS(node_type_id="c5.2xlarge", num_workers=8)),
        run(454, 125, "small-report", day + timedelta(hours=20), day + timedelta(hours=20, minutes=5), "SUCCESS", None),
        run(300, 123, "nightly-etl", day - timedelta(hours=7), day - timedelta(hours=6), "SUCCESS",   # > 24 h ago
            NS(node_type_id="m5.large", num_workers=2)),
    ]
    warehouses = [NS(id="9f3e2a1b0c4d5e6f", name="BI Warehouse", state=v("RUNNING"), cluster_size="Medium",
                     min_num_clusters=1, max_num_clusters=3, auto_stop_mins=10, warehouse_type=v("PRO"),
                     creator_name="admin@acme.example"),
                  NS(id="1a2b3c4d5e6f7a8b", name="Sandbox", state=v("STOPPED"), cluster_size="X-Small",
                     min_num_clusters=1, max_num_clusters=1, auto_stop_mins=5, warehouse_type=v("CLASSIC"),
                     creator_name="admin@acme.example")]

    def workspace(host=None, token=None):
        return NS(clusters=NS(list=lambda: iter(clusters)),
                  jobs=NS(list_runs=lambda completed_only=False, limit=25: iter(runs)),
                  warehouses=NS(list=lambda: iter(warehouses)))

    return {"databricks": module("databricks"), "databricks.sdk": module("databricks.sdk", WorkspaceClient=workspace),
            "databricks.sdk.service": module("databricks.sdk.service"),
            "databricks.sdk.service.compute": module("databricks.sdk.service.compute", ClusterDetails=NS),
            "databricks.sdk.service.jobs": module("databricks.sdk.service.jobs", Run=NS),
            "databricks.sdk.service.sql": module("databricks.sdk.service.sql", Warehouse=NS)}


def run_databricks(agents_dir: Path, endpoint: str, monkeypatch) -> AgentRun:
    mod = load_agent(agents_dir, "databricks", databricks_fakes(), monkeypatch)
    mod.requests = Wire()
    agent = mod.DatabricksTelemetryAgent(openfinops_endpoint=endpoint,
                                         databricks_host="https://dbc-1234.cloud.databricks.com",
                                         databricks_token="dapi-not-a-token")
    return run_nested(mod, "databricks", agent, agent.collect_all_metrics)


# ---------------------------------------------------------------- Snowflake

def snowflake_fakes() -> dict[str, types.ModuleType]:
    """snowflake-connector-python: a DictCursor answering the agent's ACCOUNT_USAGE queries with rows of
    the documented views (NUMBER columns as Decimal, DATE as date)."""
    d = Decimal
    days = [date(2026, 11, 30) - timedelta(days=i) for i in range(7)]
    rows = {
        "metering": [
            {"WAREHOUSE_NAME": "ETL_WH", "TOTAL_CREDITS": d("120.250000000"), "COMPUTE_CREDITS": d("115.750000000"),
             "CLOUD_SERVICE_CREDITS": d("4.500000000"), "ACTIVE_HOURS": 14, "AVG_CREDITS_PER_QUERY": d("8.589285714")},
            {"WAREHOUSE_NAME": "COMPUTE_WH", "TOTAL_CREDITS": d("42.512345678"), "COMPUTE_CREDITS": d("40.100000000"),
             "CLOUD_SERVICE_CREDITS": d("2.412345678"), "ACTIVE_HOURS": 18, "AVG_CREDITS_PER_QUERY": d("2.361796982")},
        ],
        "storage": [row for i, day in enumerate(days) for row in (
            {"DATABASE_NAME": "ANALYTICS", "USAGE_DATE": day, "DATABASE_TB": d("12.5") - d("0.1") * i,
             "FAILSAFE_TB": d("0.75"), "TOTAL_TB": d("13.25") - d("0.1") * i},
            {"DATABASE_NAME": "RAW", "USAGE_DATE": day, "DATABASE_TB": d("3.2"), "FAILSAFE_TB": d("0.2"),
             "TOTAL_TB": d("3.4")})],
        "queries": [
            {"WAREHOUSE_NAME": "COMPUTE_WH", "USER_NAME": "ANALYST", "QUERY_TYPE": "SELECT", "QUERY_COUNT": 5210,
             "AVG_EXECUTION_SECONDS": d("1.84"), "TOTAL_EXECUTION_SECONDS": d("9586.4"),
             "AVG_GB_SCANNED": d("0.412"), "TOTAL_GB_SCANNED": d("2146.52")},
            {"WAREHOUSE_NAME": "ETL_WH", "USER_NAME": "ETL_SVC", "QUERY_TYPE": "INSERT", "QUERY_COUNT": 840,
             "AVG_EXECUTION_SECONDS": d("41.3"), "TOTAL_EXECUTION_SECONDS": d("34692"),
             "AVG_GB_SCANNED": d("12.9"), "TOTAL_GB_SCANNED": d("10836")},
            {"WAREHOUSE_NAME": "ETL_WH", "USER_NAME": "ETL_SVC", "QUERY_TYPE": "MERGE", "QUERY_COUNT": 96,
             "AVG_EXECUTION_SECONDS": d("120.5"), "TOTAL_EXECUTION_SECONDS": d("11568"),
             "AVG_GB_SCANNED": d("40.25"), "TOTAL_GB_SCANNED": d("3864")},
        ],
        "users": [
            {"USER_NAME": "ETL_SVC", "WAREHOUSE_NAME": "ETL_WH", "TOTAL_CREDITS": d("118.000000000"), "QUERY_COUNT": 936},
            {"USER_NAME": "ANALYST", "WAREHOUSE_NAME": "COMPUTE_WH", "TOTAL_CREDITS": d("40.000000000"), "QUERY_COUNT": 5210},
        ],
    }

    class Cursor:
        def __init__(self):
            self.result = []

        def execute(self, q):
            if "JOIN WAREHOUSE_METERING_HISTORY" in q:
                self.result = rows["users"]
            elif "FROM WAREHOUSE_METERING_HISTORY" in q:
                self.result = rows["metering"]
            elif "DATABASE_STORAGE_USAGE_HISTORY" in q:
                self.result = rows["storage"]
            elif "FROM QUERY_HISTORY" in q:
                self.result = rows["queries"]
            else:
                raise AssertionError(q)

        def fetchall(self):
            return list(self.result)

        def close(self):
            pass

    conn = NS(cursor=lambda cursor_class=None: Cursor(), close=lambda: None)
    connector = module("snowflake.connector", connect=lambda **kw: conn, DictCursor=object)
    return {"snowflake": module("snowflake", connector=connector), "snowflake.connector": connector}


def run_snowflake(agents_dir: Path, endpoint: str, monkeypatch) -> AgentRun:
    mod = load_agent(agents_dir, "snowflake", snowflake_fakes(), monkeypatch)
    mod.requests = Wire()
    agent = mod.SnowflakeTelemetryAgent(openfinops_endpoint=endpoint, snowflake_account="xy12345.us-east-1",
                                        snowflake_user="telemetry", snowflake_password="not-a-password",
                                        snowflake_warehouse="COMPUTE_WH", edition="enterprise")
    return run_nested(mod, "snowflake", agent, agent.collect_all_metrics)


# ---------------------------------------------------------------- SaaS vendors (their REST APIs' JSON)

def saas_vendor(url: str, params: dict) -> Any:
    if url.endswith("/groups/proj-123/clusters"):          # Atlas Admin API v1.0: clusters of a project
        return {"results": [
            {"name": "orders", "numShards": 1, "replicationFactor": 3, "mongoDBVersion": "7.0.14", "stateName": "IDLE",
             "providerSettings": {"providerName": "AWS", "instanceSizeName": "M30", "regionName": "US_EAST_1"}},
            {"name": "analytics", "numShards": 2, "replicationFactor": 3, "mongoDBVersion": "7.0.14",
             "stateName": "IDLE",
             "providerSettings": {"providerName": "AWS", "instanceSizeName": "M10", "regionName": "EU_WEST_1"}}],
            "totalCount": 2}
    if url.endswith("/groups/proj-123/processes"):
        return {"results": [], "totalCount": 0}
    if url.endswith("/v1/subscriptions"):                   # Redis Cloud API: subscriptions
        return {"accountId": 40131, "subscriptions": [
            {"id": 1000101, "name": "cache-prod", "status": "active", "pricing": {"cost": 210.5},
             "cloudDetails": [{"provider": "AWS", "region": "us-east-1", "cloudAccountId": 1}]},
            {"id": 1000102, "name": "sessions", "status": "active", "pricing": {"cost": 89.99},
             "cloudDetails": [{"provider": "GCP", "region": "europe-west1", "cloudAccountId": 2}]}]}
    if "/v1/subscriptions/" in url and url.endswith("/databases"):
        return {"accountId": 40131, "subscription": {"subscriptionId": int(url.split("/")[-2]), "numberOfDatabases": 2,
                                                     "databases": [{"databaseId": 1}, {"databaseId": 2}]}}
    if url.endswith("/orgs/acme/settings/billing/actions"):  # GitHub REST: Actions billing of an org
        return {"total_minutes_used": 3450, "total_paid_minutes_used": 1450, "included_minutes": 2000,
                "minutes_used_breakdown": {"UBUNTU": 3000, "MACOS": 300, "WINDOWS": 150}}
    if url.endswith("/api/v1/usage/hosts"):                  # Datadog v1 usage metering: hosts
        assert params == {"start_hr": "2026-11-01", "end_hr": "2026-11-30"}, params
        return {"usage": [{"hour": "2026-11-01T00", "host_count": 42, "container_count": 130},
                          {"hour": "2026-11-15T00", "host_count": 45, "container_count": 151}]}
    raise AssertionError(f"unexpected vendor URL {url}")


def run_saas(agents_dir: Path, endpoint: str, monkeypatch, tmp_path: Path) -> AgentRun:
    config = tmp_path / "saas_config.json"
    config.write_text(json.dumps({
        "mongodb_atlas": {"enabled": True, "public_key": "pub", "private_key": "priv", "project_id": "proj-123"},
        "redis_cloud": {"enabled": True, "api_key": "k", "secret_key": "s", "account_id": "40131"},
        "github_actions": {"enabled": True, "token": "ghp_not_a_token", "org_name": "acme"},
        "datadog": {"enabled": True, "api_key": "dd", "app_key": "ddapp"}}))
    mod = load_agent(agents_dir, "saas_services", {}, monkeypatch)
    mod.requests = Wire(saas_vendor)
    agent = mod.SaaSServicesTelemetryAgent(openfinops_endpoint=endpoint, config_file=str(config))
    return run_nested(mod, "saas_services", agent, agent.collect_all_metrics)


# ---------------------------------------------------------------- generic (psutil)

def run_generic(agents_dir: Path, endpoint: str, monkeypatch, tmp_path: Path) -> AgentRun:
    uname = namedtuple("uname_result", "sysname nodename release version machine")
    monkeypatch.setattr(os, "uname", lambda: uname("Linux", "build-host-1", "6.8.0", "#1 SMP", "x86_64"))
    monkeypatch.setattr(os, "getloadavg", lambda: (0.52, 0.61, 0.7))
    monkeypatch.chdir(tmp_path)          # the agent looks for a plugins/ folder in the working directory
    mod = load_agent(agents_dir, "generic", {"psutil": fake_psutil()}, monkeypatch)
    mod.requests = Wire()
    agent = mod.GenericTelemetryAgent(openfinops_endpoint=endpoint)
    return run_nested(mod, "generic", agent, agent.collect_all_metrics)


RUNNERS: dict[str, Callable[..., AgentRun]] = {
    "aws": run_aws, "azure": run_azure, "gcp": run_gcp, "databricks": run_databricks, "snowflake": run_snowflake,
    "saas_services": run_saas, "generic": run_generic}
