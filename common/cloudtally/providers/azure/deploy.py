"""The ``azure-functions`` runtime's deploy artifacts, generated from the registry's placements.

* **The Function App** (``functions/azure/``): ``collectors.json`` lists one timer function per collector
  placed on ``azure-functions`` (name, 6-field NCRONTAB); ``function_app.py`` (Python v2 programming model)
  registers one ``@app.timer_trigger`` per entry; ``requirements.txt`` holds what those collectors need.
* **The ARM template** (``infra/azure/cloudtally.json``, resource-group deployment): a Flex Consumption plan
  and Function App, its storage account and deployment container, a Key Vault (RBAC) holding the collectors'
  secrets — referenced from app settings as ``@Microsoft.KeyVault(VaultName=...;SecretName=cloudtally-<name>)``,
  so the function reads them as ``CLOUDTALLY_SECRET_<NAME>`` — and a user-assigned managed identity with
  exactly the Azure roles the placed collectors declare, at the chosen subscription (plus what the app needs
  on its own storage and vault). Permissions in other clouds are listed in the outputs, to grant to the
  identity whose credentials such a collector is given.

Both register as deploy artifacts of ``azure-functions`` (:func:`cloudtally.collectors.contract.register_artifact`),
so the contract test fails when a collector placed there is missing from either. ``cloudtally azure render``
writes them; ``--check`` fails on drift.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

from ...collectors import contract, deployment
from ...errors import ConfigError

ROOT = Path(__file__).resolve().parents[4]
FUNCTIONS_DIR = ROOT / "functions" / "azure"
MANIFEST = FUNCTIONS_DIR / "collectors.json"
REQUIREMENTS = FUNCTIONS_DIR / "requirements.txt"
TEMPLATE = ROOT / "infra" / "azure" / "cloudtally.json"
RUNTIME = "azure-functions"
PYTHON_VERSION = "3.11"                 # the Functions Python runtime the package is built for
INSTANCE_MEMORY_MB = (512, 2048, 4096)  # Flex Consumption instance sizes
# built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles)
ROLE_IDS = {"Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
            "Monitoring Reader": "43d0d8ad-25c7-4714-9337-8ba259a9fe05",
            "Cost Management Reader": "72fafb9e-0641-4937-9268-a91bfd8191a3",
            "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
            # what the function app needs on its own resources (not a collector permission)
            "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
            "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6"}
API = {"identity": "2023-01-31", "storage": "2023-05-01", "vault": "2023-07-01", "web": "2024-04-01",
       "roles": "2022-04-01", "deployments": "2022-09-01"}


def placements(dep: Any = None) -> list:
    """The collectors a deployment places on Azure Functions (registry defaults without a deployment file)."""
    dep = dep if dep is not None else deployment.load(root=ROOT)
    return dep.placements(runtime=RUNTIME)


def function_name(collector: str) -> str:
    return f"collect-{collector}"


def setting(prefix: str, collector: str) -> str:
    """An app setting per collector: ``CLOUDTALLY_COLLECTOR_CONFIG_AZURE_BILLING_EXPORT``."""
    return prefix + re.sub(r"[^A-Z0-9]", "_", collector.upper())


CONFIG_SETTING = "CLOUDTALLY_COLLECTOR_CONFIG_"


# ---------------------------------------------------------------- the Function App

def manifest(places: list) -> dict[str, Any]:
    """What ``function_app.py`` registers: one timer function per placement."""
    return {"generated": "by `cloudtally azure render` from the collector registry: do not edit by hand",
            "functions": [{"function": function_name(p.name), "collector": p.name, "schedule": p.schedule_expression(),
                           "config_setting": setting(CONFIG_SETTING, p.name), "timeout_s": p.spec.timeout_s}
                          for p in sorted(places, key=lambda p: p.name)]}


def requirements(places: list) -> list[str]:
    """The Function App's requirements: the base dependencies, the azure extra (the Functions worker library,
    azure-identity) and each placed collector's SDK extra."""
    import tomllib
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = proj["optional-dependencies"]
    out = list(proj["dependencies"]) + list(extras["azure"])
    for p in places:
        if p.spec.sdk_extra not in extras:
            raise ConfigError(f"collector {p.name}: sdk_extra {p.spec.sdk_extra!r} is not an extra in pyproject.toml")
        out += extras[p.spec.sdk_extra]
    return list(dict.fromkeys(out))


def load_function_app(path: Path | None = None) -> Any:
    """``functions/azure/function_app.py`` as a module (its ``build_app(manifest)`` makes the FunctionApp)."""
    path = path or FUNCTIONS_DIR / "function_app.py"
    spec = importlib.util.spec_from_file_location("cloudtally_azure_function_app", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def app_functions(places: list) -> dict[str, dict[str, Any]]:
    """The timer functions the Function App registers for ``places``: name → its trigger binding."""
    app = load_function_app().build_app(manifest(places))
    out = {}
    for fn in app.get_functions():
        binding = next(b for b in fn.get_bindings_dict()["bindings"] if b["type"] == "timerTrigger")
        out[fn.get_function_name()] = binding
    return out


def _carried_by_app(places: list) -> set[str]:
    fns = app_functions(places)
    return {p.name for p in places if function_name(p.name) in fns
            and fns[function_name(p.name)]["schedule"] == p.schedule_expression()}


# ---------------------------------------------------------------- the ARM template

def _role_id(role: str) -> str:
    rid = ROLE_IDS.get(role)
    if rid is None:
        raise ConfigError(f"Azure role {role!r} has no role definition id in cloudtally.providers.azure.deploy.ROLE_IDS: "
                          "add the built-in role's id (least privilege: no custom or wildcard roles)")
    return rid


def scope_roles(places: list) -> list[str]:
    """The roles the identity gets at the chosen scope: exactly what the placed collectors declare for Azure."""
    return sorted({r for p in places for r in p.permissions()})


PRINCIPAL = ("reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', variables('identityName')), '"
             + API["identity"] + "').principalId")


IDENTITY_ID = "resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', variables('identityName'))"


def _assignment(seed: str, identity: str, principal: str, role: str, scope: str = "") -> dict[str, Any]:
    """A role assignment of ``role`` to ``principal``; its name is a guid of the scope, the identity's resource id
    and the role (ARM resource names cannot depend on ``reference()``)."""
    return {"type": "Microsoft.Authorization/roleAssignments", "apiVersion": API["roles"],
            "name": f"[guid({seed}, {identity}, '{_role_id(role)}')]", **({"scope": scope} if scope else {}),
            "properties": {"roleDefinitionId": f"[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', "
                                               f"'{_role_id(role)}')]",
                           "principalId": f"[{principal}]", "principalType": "ServicePrincipal",
                           "description": f"CloudTally collector identity: {role}"}}


def template(places: list) -> dict[str, Any]:
    """The ARM template (resource group deployment) for ``places``."""
    secrets = sorted({s.name: s for p in places for s in p.secrets}.values(), key=lambda s: s.name)
    memory = max([p.spec.memory_mb for p in places] or [512])
    instance_mb = next((m for m in INSTANCE_MEMORY_MB if m >= memory), INSTANCE_MEMORY_MB[-1])
    identity_id = "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', variables('identityName'))]"
    settings = [
        {"name": "AzureWebJobsStorage__accountName", "value": "[variables('storageName')]"},
        {"name": "AzureWebJobsStorage__credential", "value": "managedidentity"},
        {"name": "AzureWebJobsStorage__clientId", "value": f"[reference({identity_id[1:-1]}, '{API['identity']}').clientId]"},
        {"name": "AZURE_CLIENT_ID", "value": f"[reference({identity_id[1:-1]}, '{API['identity']}').clientId]"},
        {"name": "CLOUDTALLY_API_URL", "value": "[parameters('apiUrl')]"},
        {"name": "CLOUDTALLY_COLLECTORS", "value": ",".join(sorted(p.name for p in places))},
    ]
    settings += [{"name": s.env_var, "value": f"[concat('@Microsoft.KeyVault(VaultName=', variables('vaultName'), "
                                             f"';SecretName={s.keyvault_name})')]"} for s in secrets]
    settings += [{"name": setting(CONFIG_SETTING, p.name), "value": json.dumps(p.config, sort_keys=True)}
                 for p in sorted(places, key=lambda p: p.name) if p.config]
    storage_id = "resourceId('Microsoft.Storage/storageAccounts', variables('storageName'))"
    vault_id = "resourceId('Microsoft.KeyVault/vaults', variables('vaultName'))"
    own = [
        {**_assignment(storage_id, IDENTITY_ID, PRINCIPAL, "Storage Blob Data Owner", f"[{storage_id}]"),
         "dependsOn": [f"[{storage_id}]", identity_id]},
        {**_assignment(vault_id, IDENTITY_ID, PRINCIPAL, "Key Vault Secrets User", f"[{vault_id}]"),
         "dependsOn": [f"[{vault_id}]", identity_id]},
    ]
    # at the chosen subscription, inside a nested deployment (its own parameters: inner expression scope)
    scoped = [_assignment("parameters('roleSubscriptionId')", "parameters('identityId')", "parameters('principalId')", r)
              for r in scope_roles(places)]
    roles_deployment = {
        "type": "Microsoft.Resources/deployments", "apiVersion": API["deployments"], "name": "cloudtally-collector-roles",
        "subscriptionId": "[parameters('roleSubscriptionId')]", "location": "[parameters('location')]",
        "dependsOn": [identity_id],
        "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                       "parameters": {"principalId": {"value": f"[reference({identity_id[1:-1]}, '{API['identity']}')"
                                                               ".principalId]"},
                                      "identityId": {"value": f"[{IDENTITY_ID}]"},
                                      "roleSubscriptionId": {"value": "[parameters('roleSubscriptionId')]"}},
                       "template": {"$schema": "https://schema.management.azure.com/schemas/2018-05-01/"
                                               "subscriptionDeploymentTemplate.json#", "contentVersion": "1.0.0.0",
                                    "parameters": {"principalId": {"type": "string"},
                                                   "identityId": {"type": "string"},
                                                   "roleSubscriptionId": {"type": "string"}},
                                    "resources": scoped}}}
    foreign = {p.name: {c: list(v) for c, v in p.foreign_permissions().items()} for p in places if p.foreign_permissions()}
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "metadata": {"generator": "cloudtally azure render (from the collector registry: do not edit by hand)",
                     "collectors": sorted(p.name for p in places)},
        "parameters": {
            "namePrefix": {"type": "string", "defaultValue": "cloudtally", "maxLength": 11,
                           "metadata": {"description": "lower-case letters and digits; names of every resource"}},
            "location": {"type": "string", "defaultValue": "[resourceGroup().location]"},
            "apiUrl": {"type": "string", "metadata": {"description": "the CloudTally API URL (CLOUDTALLY_API_URL)"}},
            "roleSubscriptionId": {"type": "string", "defaultValue": "[subscription().subscriptionId]",
                                   "metadata": {"description": "the subscription whose resources and costs the "
                                                               "collectors read: the identity's roles are assigned there"}},
            "maximumInstanceCount": {"type": "int", "defaultValue": 40, "minValue": 40, "maxValue": 1000},
        },
        "variables": {
            "suffix": "[uniqueString(resourceGroup().id)]",
            "identityName": "[concat(parameters('namePrefix'), '-collector-', variables('suffix'))]",
            "storageName": "[toLower(take(concat(parameters('namePrefix'), 'st', variables('suffix')), 24))]",
            "vaultName": "[take(concat(parameters('namePrefix'), '-kv-', variables('suffix')), 24)]",
            "planName": "[concat(parameters('namePrefix'), '-plan-', variables('suffix'))]",
            "appName": "[concat(parameters('namePrefix'), '-collectors-', variables('suffix'))]",
            "deploymentContainer": "app-package",
        },
        "resources": [
            {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": API["identity"],
             "name": "[variables('identityName')]", "location": "[parameters('location')]"},
            {"type": "Microsoft.Storage/storageAccounts", "apiVersion": API["storage"], "name": "[variables('storageName')]",
             "location": "[parameters('location')]", "kind": "StorageV2", "sku": {"name": "Standard_LRS"},
             "properties": {"allowBlobPublicAccess": False, "allowSharedKeyAccess": False, "minimumTlsVersion": "TLS1_2",
                            "supportsHttpsTrafficOnly": True}},
            {"type": "Microsoft.Storage/storageAccounts/blobServices/containers", "apiVersion": API["storage"],
             "name": "[concat(variables('storageName'), '/default/', variables('deploymentContainer'))]",
             "dependsOn": [f"[{storage_id}]"], "properties": {"publicAccess": "None"}},
            {"type": "Microsoft.KeyVault/vaults", "apiVersion": API["vault"], "name": "[variables('vaultName')]",
             "location": "[parameters('location')]",
             "properties": {"tenantId": "[subscription().tenantId]", "sku": {"family": "A", "name": "standard"},
                            "enableRbacAuthorization": True, "enableSoftDelete": True, "softDeleteRetentionInDays": 30}},
            {"type": "Microsoft.Web/serverfarms", "apiVersion": API["web"], "name": "[variables('planName')]",
             "location": "[parameters('location')]", "kind": "functionapp",
             "sku": {"name": "FC1", "tier": "FlexConsumption"}, "properties": {"reserved": True}},
            {"type": "Microsoft.Web/sites", "apiVersion": API["web"], "name": "[variables('appName')]",
             "location": "[parameters('location')]", "kind": "functionapp,linux",
             "identity": {"type": "UserAssigned", "userAssignedIdentities": {identity_id: {}}},
             "dependsOn": ["[resourceId('Microsoft.Web/serverfarms', variables('planName'))]", f"[{storage_id}]",
                           f"[{vault_id}]", identity_id],
             "properties": {
                 "serverFarmId": "[resourceId('Microsoft.Web/serverfarms', variables('planName'))]",
                 "httpsOnly": True, "keyVaultReferenceIdentity": identity_id,
                 "functionAppConfig": {
                     "deployment": {"storage": {
                         "type": "blobContainer",
                         "value": f"[concat(reference({storage_id}, '{API['storage']}').primaryEndpoints.blob, "
                                  "variables('deploymentContainer'))]",
                         "authentication": {"type": "UserAssignedIdentity", "userAssignedIdentityResourceId": identity_id}}},
                     "scaleAndConcurrency": {"maximumInstanceCount": "[parameters('maximumInstanceCount')]",
                                             "instanceMemoryMB": instance_mb},
                     "runtime": {"name": "python", "version": PYTHON_VERSION}},
                 "siteConfig": {"minTlsVersion": "1.2", "ftpsState": "Disabled", "appSettings": settings}}},
            *own,
            roles_deployment,
        ],
        "outputs": {
            "functionAppName": {"type": "string", "value": "[variables('appName')]"},
            "keyVaultName": {"type": "string", "value": "[variables('vaultName')]"},
            "storageAccountName": {"type": "string", "value": "[variables('storageName')]"},
            "identityPrincipalId": {"type": "string",
                                    "value": f"[reference({identity_id[1:-1]}, '{API['identity']}').principalId]"},
            "collectorRoles": {"type": "array", "value": scope_roles(places)},
            "keyVaultSecrets": {"type": "array", "value": [s.keyvault_name for s in secrets]},
            "foreignPermissions": {"type": "object", "value": foreign},
        },
    }


def _carried_by_template(places: list) -> set[str]:
    doc = template(places)
    site = next(r for r in doc["resources"] if r["type"] == "Microsoft.Web/sites")
    names = {s["name"]: s["value"] for s in site["properties"]["siteConfig"]["appSettings"]}
    listed = set((names.get("CLOUDTALLY_COLLECTORS") or "").split(","))
    roles_dep = next(r for r in doc["resources"] if r["type"] == "Microsoft.Resources/deployments")
    assigned = {a["properties"]["description"].rsplit(": ", 1)[1] for a in roles_dep["properties"]["template"]["resources"]}
    out = set()
    for p in places:
        has_secrets = all(s.env_var in names and s.keyvault_name in names[s.env_var] for s in p.secrets)
        has_config = not p.config or names.get(setting(CONFIG_SETTING, p.name)) == json.dumps(p.config, sort_keys=True)
        if p.name in listed and has_secrets and has_config and set(p.permissions()) <= assigned:
            out.add(p.name)
    return out


contract.register_artifact(RUNTIME, "functions/azure (Function App timer triggers)", _carried_by_app)
contract.register_artifact(RUNTIME, "infra/azure/cloudtally.json (ARM template)", _carried_by_template)


# ---------------------------------------------------------------- rendering

def render(places: list | None = None) -> dict[Path, str]:
    """Every generated file's text, by path."""
    places = placements() if places is None else places
    return {MANIFEST: json.dumps(manifest(places), indent=1) + "\n",
            REQUIREMENTS: "# GENERATED by `cloudtally azure render` from the collector registry: do not edit by hand.\n"
                          "# The Function App's dependencies (cloudtally itself is vendored into the package).\n"
                          + "\n".join(requirements(places)) + "\n",
            TEMPLATE: json.dumps(template(places), indent=1) + "\n"}


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("azure", help="the Azure Functions app and ARM template, generated from the registry")
    asub = p.add_subparsers(dest="azure_cmd", required=True)
    r = asub.add_parser("render", help="write functions/azure/collectors.json, requirements.txt and "
                                       "infra/azure/cloudtally.json")
    r.add_argument("--check", action="store_true", help="fail (exit 1) if a file differs from the registry")
    r.set_defaults(func=_render_cmd)


def _render_cmd(a: argparse.Namespace) -> int:
    stale = []
    for path, text in render().items():
        if a.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(f"out of date with the collector registry: {', '.join(stale)}: run `cloudtally azure render`",
              file=sys.stderr)
        return 1
    return 0
