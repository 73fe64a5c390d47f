"""AWS in FOCUS 1.2 terms: services, units, regions, accounts, resource types, invoicing entities.

One table per kind of knowledge, read by the AWS collector (inventory estimates and Cost Explorer
rows), the CUR / CUR 2.0 mapping (``importers/formats.py``, as polars expressions over the same
tables) and FOCUS files from AWS. A service therefore has one ServiceCategory and one
ServiceSubcategory whether its cost came from Cost Explorer, the collector or the export.

>>> service_categories("AmazonRedshift"), service_categories("Amazon Redshift")
(('Databases', 'Data Warehouses'), ('Databases', 'Data Warehouses'))
>>> pricing_unit("GB-Mo"), pricing_unit("Hrs"), pricing_unit("Requests")
('GB-Months', 'Hours', 'Requests')
>>> region_name("eu-west-1"), resource_type("arn:aws:lambda:us-east-1:123456789012:function:api"), resource_type("i-0abc1234")
('EU (Ireland)', 'function', 'instance')
"""

from __future__ import annotations

import re
from typing import Any

PROVIDER = "AWS"
# The CUR's and Cost Explorer's own words for the two account levels (bill/PayerAccountId, LINKED_ACCOUNT)
BILLING_ACCOUNT_TYPE = "Payer Account"
SUB_ACCOUNT_TYPE = "Linked Account"

# (CUR lineItem/ProductCode, the names the service goes by in CUR product/ProductName, Cost Explorer's
# SERVICE dimension and the collector, ServiceCategory, ServiceSubcategory)
SERVICES: tuple[tuple[str | None, tuple[str, ...], str, str], ...] = (
    ("AmazonEC2", ("Amazon Elastic Compute Cloud", "Amazon Elastic Compute Cloud - Compute", "Amazon EC2"),
     "Compute", "Virtual Machines"),
    (None, ("EC2 - Other",), "Compute", "Other (Compute)"),
    (None, ("Amazon Elastic Block Store",), "Storage", "Block Storage"),
    ("AmazonEKS", ("Amazon Elastic Kubernetes Service", "Amazon Elastic Container Service for Kubernetes"),
     "Compute", "Containers"),
    ("AmazonECS", ("Amazon Elastic Container Service", "Amazon EC2 Container Service"), "Compute", "Containers"),
    ("AmazonECR", ("Amazon EC2 Container Registry (ECR)", "Amazon Elastic Container Registry"), "Compute", "Containers"),
    ("AWSFargate", ("AWS Fargate",), "Compute", "Containers"),
    ("AWSLambda", ("AWS Lambda",), "Compute", "Serverless Compute"),
    ("AmazonLightsail", ("Amazon Lightsail",), "Compute", "Virtual Machines"),
    ("AWSBatch", ("AWS Batch",), "Compute", "Other (Compute)"),
    ("AmazonWorkSpaces", ("Amazon WorkSpaces",), "Compute", "End User Computing"),
    ("ROSA", ("Red Hat OpenShift Service on AWS",), "Compute", "Containers"),
    ("AmazonS3", ("Amazon Simple Storage Service",), "Storage", "Object Storage"),
    ("AmazonS3GlacierDeepArchive", ("Amazon S3 Glacier Deep Archive",), "Storage", "Object Storage"),
    ("AmazonGlacier", ("Amazon Glacier", "Amazon S3 Glacier"), "Storage", "Object Storage"),
    ("AmazonEFS", ("Amazon Elastic File System",), "Storage", "File Storage"),
    ("AmazonFSx", ("Amazon FSx",), "Storage", "File Storage"),
    ("AWSBackup", ("AWS Backup",), "Storage", "Backup Storage"),
    ("AmazonRDS", ("Amazon Relational Database Service",), "Databases", "Relational Databases"),
    ("AmazonDynamoDB", ("Amazon DynamoDB",), "Databases", "NoSQL Databases"),
    ("AmazonElastiCache", ("Amazon ElastiCache",), "Databases", "Caching"),
    ("AmazonRedshift", ("Amazon Redshift",), "Databases", "Data Warehouses"),
    ("AmazonDocDB", ("Amazon DocumentDB (with MongoDB compatibility)", "Amazon DocumentDB"), "Databases",
     "NoSQL Databases"),
    ("AmazonNeptune", ("Amazon Neptune",), "Databases", "NoSQL Databases"),
    ("AmazonTimestream", ("Amazon Timestream",), "Databases", "Time Series Databases"),
    ("AmazonVPC", ("Amazon Virtual Private Cloud",), "Networking", "Network Infrastructure"),
    ("AmazonCloudFront", ("Amazon CloudFront",), "Networking", "Content Delivery"),
    ("AmazonRoute53", ("Amazon Route 53",), "Networking", "Network Routing"),
    ("AWSDataTransfer", ("AWS Data Transfer",), "Networking", "Network Connectivity"),
    ("AWSELB", ("Elastic Load Balancing", "Amazon Elastic Load Balancing"), "Networking", "Application Networking"),
    ("AWSDirectConnect", ("AWS Direct Connect",), "Networking", "Network Connectivity"),
    ("AWSWAF", ("AWS WAF",), "Networking", "Network Security"),
    ("AmazonApiGateway", ("Amazon API Gateway",), "Integration", "API Management"),
    ("AWSQueueService", ("Amazon Simple Queue Service",), "Integration", "Messaging"),
    ("AmazonSNS", ("Amazon Simple Notification Service",), "Integration", "Messaging"),
    ("AmazonEventBridge", ("Amazon EventBridge", "CloudWatch Events"), "Integration", "Messaging"),
    ("AmazonMQ", ("Amazon MQ",), "Integration", "Messaging"),
    ("AmazonStates", ("AWS Step Functions",), "Integration", "Workflow Orchestration"),
    ("AWSGlue", ("AWS Glue",), "Analytics", "Data Processing"),
    ("ElasticMapReduce", ("Amazon Elastic MapReduce", "Amazon EMR"), "Analytics", "Data Processing"),
    ("AmazonAthena", ("Amazon Athena",), "Analytics", "Analytics Platforms"),
    ("AmazonKinesis", ("Amazon Kinesis",), "Analytics", "Streaming Analytics"),
    ("AmazonMSK", ("Amazon Managed Streaming for Apache Kafka",), "Analytics", "Streaming Analytics"),
    ("AmazonES", ("Amazon OpenSearch Service", "Amazon Elasticsearch Service"), "Analytics", "Search"),
    ("AmazonQuickSight", ("Amazon QuickSight",), "Analytics", "Business Intelligence"),
    ("awskms", ("AWS Key Management Service",), "Security", "Secret Management"),
    ("AWSSecretsManager", ("AWS Secrets Manager",), "Security", "Secret Management"),
    ("AWSCertificateManager", ("AWS Certificate Manager",), "Security", "Other (Security)"),
    ("AmazonGuardDuty", ("Amazon GuardDuty",), "Security", "Threat Detection and Response"),
    ("AWSSecurityHub", ("AWS Security Hub",), "Security", "Security Posture Management"),
    ("AmazonInspector", ("Amazon Inspector",), "Security", "Security Posture Management"),
    ("AmazonCognito", ("Amazon Cognito",), "Identity", "Identity and Access Management"),
    ("AmazonCloudWatch", ("AmazonCloudWatch", "Amazon CloudWatch"), "Management and Governance", "Observability"),
    ("AWSXRay", ("AWS X-Ray",), "Management and Governance", "Observability"),
    ("AWSCloudTrail", ("AWS CloudTrail",), "Management and Governance", "Compliance"),
    ("AWSConfig", ("AWS Config",), "Management and Governance", "Compliance"),
    ("AWSSystemsManager", ("AWS Systems Manager",), "Management and Governance", "Endpoint Management"),
    ("AWSCostExplorer", ("AWS Cost Explorer",), "Management and Governance", "Cost Management"),
    ("AWSSupportBusiness", ("AWS Support (Business)",), "Management and Governance", "Support"),
    ("AWSSupportEnterprise", ("AWS Support (Enterprise)",), "Management and Governance", "Support"),
    ("AWSDeveloperSupport", ("AWS Support (Developer)",), "Management and Governance", "Support"),
    ("AWSMigrationHubRefactorSpaces", ("AWS Migration Hub Refactor Spaces",), "Migration", "Resource Migration"),
    ("AWSDatabaseMigrationSvc", ("AWS Database Migration Service",), "Migration", "Data Migration"),
    ("AWSIoT", ("AWS IoT",), "Internet of Things", "IoT Platforms"),
    ("AmazonSageMaker", ("Amazon SageMaker",), "AI and Machine Learning", "Machine Learning"),
    ("AmazonBedrock", ("Amazon Bedrock",), "AI and Machine Learning", "Generative AI"),
    ("AmazonRekognition", ("Amazon Rekognition",), "AI and Machine Learning", "Other (AI and Machine Learning)"),
    ("AWSCodeBuild", ("AWS CodeBuild",), "Developer Tools", "Continuous Integration and Deployment"),
    ("AWSCodePipeline", ("AWS CodePipeline",), "Developer Tools", "Continuous Integration and Deployment"),
    ("AWSCloudShell", ("AWS CloudShell",), "Developer Tools", "Development Environments"),
    ("AWSAmplify", ("AWS Amplify",), "Web", "Application Platforms"),
    (None, ("Tax",), "Other", "Other (Other)"),
)
BY_CODE: dict[str, tuple[str, str]] = {code: (cat, sub) for code, _, cat, sub in SERVICES if code}
BY_NAME: dict[str, tuple[str, str]] = {n.lower(): (cat, sub) for _, names, cat, sub in SERVICES for n in names}

# Region code → the location name AWS writes in the price list and the CUR (product/location)
REGIONS = {
    "us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)", "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)", "af-south-1": "Africa (Cape Town)", "ap-east-1": "Asia Pacific (Hong Kong)",
    "ap-south-1": "Asia Pacific (Mumbai)", "ap-south-2": "Asia Pacific (Hyderabad)",
    "ap-southeast-1": "Asia Pacific (Singapore)", "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-southeast-3": "Asia Pacific (Jakarta)", "ap-southeast-4": "Asia Pacific (Melbourne)",
    "ap-southeast-5": "Asia Pacific (Malaysia)", "ap-southeast-7": "Asia Pacific (Thailand)",
    "ap-northeast-1": "Asia Pacific (Tokyo)", "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-northeast-3": "Asia Pacific (Osaka)", "ca-central-1": "Canada (Central)", "ca-west-1": "Canada West (Calgary)",
    "eu-central-1": "EU (Frankfurt)", "eu-central-2": "EU (Zurich)", "eu-west-1": "EU (Ireland)",
    "eu-west-2": "EU (London)", "eu-west-3": "EU (Paris)", "eu-south-1": "EU (Milan)", "eu-south-2": "EU (Spain)",
    "eu-north-1": "EU (Stockholm)", "il-central-1": "Israel (Tel Aviv)", "me-south-1": "Middle East (Bahrain)",
    "me-central-1": "Middle East (UAE)", "mx-central-1": "Mexico (Central)", "sa-east-1": "South America (Sao Paulo)",
    "us-gov-east-1": "AWS GovCloud (US-East)", "us-gov-west-1": "AWS GovCloud (US-West)",
    "cn-north-1": "China (Beijing)", "cn-northwest-1": "China (Ningxia)", "global": "Global",
}

# Price-list units → the FOCUS unit format (time units spelled out, a time unit after '-' in the plural)
UNIT_ALIASES = {"Hrs": "Hours", "hrs": "Hours", "Lambda-GB-Second": "GB-Seconds", "Lambda-GB-Seconds": "GB-Seconds",
                "GiB/Second-Months": "GiBps-Months"}
UNIT_SUFFIXES = ((r"-(Mo|mo|Month|month|Months)$", "-Months"), (r"-(Hrs|hrs|Hour|Hr)$", "-Hours"),
                 (r"-(Second|Sec|sec)$", "-Seconds"))

# lineItem/ResourceId forms: an ARN's resource type, an id's prefix, or the kind a service's ids name
ARN = re.compile(r"^arn:[^:]+:([^:]+):[^:]*:[^:]*:(.*)$")
ID_PREFIXES = {"i": "instance", "vol": "volume", "snap": "snapshot", "eni": "network-interface", "nat": "natgateway",
               "eipalloc": "elastic-ip", "ami": "image", "sg": "security-group", "vpc": "vpc", "subnet": "subnet",
               "igw": "internet-gateway", "tgw": "transit-gateway", "vpce": "vpc-endpoint", "fs": "file-system",
               "elb": "loadbalancer", "cluster": "cluster"}
SERVICE_RESOURCE = {"AmazonS3": "bucket", "AWSLambda": "function", "AmazonRDS": "db", "AmazonDynamoDB": "table",
                    "AmazonCloudFront": "distribution", "AmazonSNS": "topic", "AWSQueueService": "queue",
                    "AmazonEKS": "cluster", "AmazonEC2": "instance", "AmazonRoute53": "hostedzone",
                    "AmazonElastiCache": "cluster", "AmazonRedshift": "cluster", "AmazonEFS": "file-system"}
_CODE_BY_NAME = {n.lower(): code for code, names, _, _ in SERVICES if code for n in names}
_AWS_ENTITY = re.compile(r"^(Amazon|AWS)( |$)")


def service_categories(name_or_code: str | None) -> tuple[str, str] | None:
    """(ServiceCategory, ServiceSubcategory) of a service by product code or any of its names."""
    if not name_or_code:
        return None
    return BY_CODE.get(name_or_code) or BY_NAME.get(name_or_code.lower())


def region_name(region_id: str | None) -> str | None:
    return REGIONS.get(region_id) if region_id else None


def pricing_unit(unit: str | None) -> str | None:
    """A price-list unit in the FOCUS unit format (``GB-Mo`` → ``GB-Months``, ``Hrs`` → ``Hours``)."""
    if unit is None:
        return None
    u = UNIT_ALIASES.get(unit, unit)
    for rx, repl in UNIT_SUFFIXES:
        u = re.sub(rx, repl, u)
    return u


def resource_type(resource_id: str | None, service: str | None = None) -> str | None:
    """The resource type a resource id names: an ARN's type, an id prefix's, else its service's kind."""
    if not resource_id:
        return None
    m = ARN.match(resource_id)
    if m:
        svc, res = m.groups()
        kind = re.split(r"[/:]", res, maxsplit=1)[0] if ("/" in res or ":" in res) else ""
        return kind or ("bucket" if svc == "s3" else svc)
    p = re.match(r"^([a-z]+)-[0-9a-zA-Z]+$", resource_id)
    if p and p.group(1) in ID_PREFIXES:
        return ID_PREFIXES[p.group(1)]
    code = service if service in BY_CODE else _CODE_BY_NAME.get((service or "").lower())
    return SERVICE_RESOURCE.get(code or "") or service


def invoice_issuer(entity: str | None) -> str:
    """InvoiceIssuerName: AWS itself for its own invoicing entities ("Amazon Web Services EMEA SARL",
    "AWS Serviços Brasil Ltda."), else the entity (a channel partner that invoices the customer)."""
    if not entity or _AWS_ENTITY.match(entity):
        return PROVIDER
    return entity


def complete(v: dict[str, Any]) -> None:
    """AWS knowledge for one record (in place): :func:`cloudtally.providers.fill` with these tables,
    and AWS's own invoicing entities as the invoice issuer."""
    from .. import fill
    fill(v, billing_account_type=BILLING_ACCOUNT_TYPE, sub_account_type=SUB_ACCOUNT_TYPE,
         categories=service_categories, region_name=region_name, unit=pricing_unit, resource_type=resource_type)
    v["InvoiceIssuerName"] = invoice_issuer(v.get("InvoiceIssuerName"))
