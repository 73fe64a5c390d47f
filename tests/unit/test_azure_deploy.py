"""The azure-functions runtime's artifacts come from the registry: the Function App (one timer trigger per placed
collector, 6-field NCRONTAB) and the ARM template (Flex Consumption, storage, Key Vault references, a managed
identity with exactly the declared roles); a deployment that moves a collector there carries its schedule,
secrets and permissions into both."""

from __future__ import annotations

import json

import azure.functions as func
import pytest
from azure.functions.meta import Datum
from azure.functions.timer import TimerRequestConverter

from cloudtally.collectors import contract, deployment, registry
from cloudtally.errors import ConfigError
from cloudtally.providers.azure import deploy


def _site(doc):
    return next(r for r in doc["resources"] if r["type"] == "Microsoft.Web/sites")


def _settings(doc):
    return {s["name"]: s["value"] for s in _site(doc)["properties"]["siteConfig"]["appSettings"]}


def _scope_roles(doc):
    dep = next(r for r in doc["resources"] if r["type"] == "Microsoft.Resources/deployments")
    return sorted(a["properties"]["roleDefinitionId"].split("'")[-2] for a in dep["properties"]["template"]["resources"])


def test_the_generated_files_are_the_registry_rendering():
    for path, text in deploy.render().items():
        assert path.read_text() == text, f"{path} drifted: run `cloudtally azure render`"
    from cloudtally.cli import main
    assert main(["azure", "render", "--check"]) == 0


def test_one_timer_trigger_per_placed_collector_with_its_ncrontab():
    places = deploy.placements()
    assert {p.name for p in places} == {"azure", "azure-billing-export"}
    fns = deploy.app_functions(places)
    assert fns == {"collect-azure": {**fns["collect-azure"], "type": "timerTrigger", "schedule": "0 0 * * * *"},
                   "collect-azure-billing-export": {**fns["collect-azure-billing-export"], "schedule": "0 0 */6 * * *"}}
    assert all(len(b["schedule"].split()) == 6 and b["useMonitor"] and b["runOnStartup"] is False for b in fns.values())
    app = deploy.load_function_app().app                        # what the Functions host indexes
    assert sorted(f.get_function_name() for f in app.get_functions()) == sorted(fns)


def test_the_template_grants_exactly_the_declared_roles_at_the_chosen_scope():
    places = deploy.placements()
    doc = json.loads(deploy.TEMPLATE.read_text())
    declared = sorted({r for p in places for r in p.spec.permissions.azure})
    assert declared == ["Cost Management Reader", "Monitoring Reader", "Reader", "Storage Blob Data Reader"]
    assert _scope_roles(doc) == sorted(deploy.ROLE_IDS[r] for r in declared)
    dep = next(r for r in doc["resources"] if r["type"] == "Microsoft.Resources/deployments")
    assert dep["subscriptionId"] == "[parameters('roleSubscriptionId')]"
    assert doc["parameters"]["roleSubscriptionId"]["defaultValue"] == "[subscription().subscriptionId]"
    # beyond the collectors' roles, only what the app needs on its own storage and vault
    own = sorted(r["properties"]["description"] for r in doc["resources"]
                 if r["type"] == "Microsoft.Authorization/roleAssignments")
    assert own == ["CloudTally collector identity: Key Vault Secrets User",
                   "CloudTally collector identity: Storage Blob Data Owner"]
    assert {r["type"] for r in doc["resources"]} == {
        "Microsoft.ManagedIdentity/userAssignedIdentities", "Microsoft.Storage/storageAccounts",
        "Microsoft.Storage/storageAccounts/blobServices/containers", "Microsoft.KeyVault/vaults",
        "Microsoft.Web/serverfarms", "Microsoft.Web/sites", "Microsoft.Authorization/roleAssignments",
        "Microsoft.Resources/deployments"}
    with pytest.raises(ConfigError, match="no role definition id"):
        deploy._role_id("Owner-ish Custom Role")


def test_the_function_app_is_flex_consumption_with_key_vault_references():
    doc = json.loads(deploy.TEMPLATE.read_text())
    plan = next(r for r in doc["resources"] if r["type"] == "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    site = _site(doc)
    cfg = site["properties"]["functionAppConfig"]
    assert cfg["runtime"] == {"name": "python", "version": "3.11"}
    assert cfg["deployment"]["storage"]["authentication"]["type"] == "UserAssignedIdentity"
    assert cfg["scaleAndConcurrency"]["instanceMemoryMB"] == 4096      # the largest placed collector (4 GB export)
    assert site["identity"]["type"] == "UserAssigned" and site["properties"]["keyVaultReferenceIdentity"]
    s = _settings(doc)
    assert s["CLOUDTALLY_API_URL"] == "[parameters('apiUrl')]" and s["AzureWebJobsStorage__credential"] == "managedidentity"
    assert "SecretName=cloudtally-ingest-api-key" in s["CLOUDTALLY_SECRET_INGEST_API_KEY"]
    assert "SecretName=cloudtally-azure-export-storage-credential" in s["CLOUDTALLY_SECRET_AZURE_EXPORT_STORAGE_CREDENTIAL"]
    assert s["CLOUDTALLY_COLLECTORS"] == "azure,azure-billing-export"
    vault = next(r for r in doc["resources"] if r["type"] == "Microsoft.KeyVault/vaults")
    assert vault["properties"]["enableRbacAuthorization"] is True
    storage = next(r for r in doc["resources"] if r["type"] == "Microsoft.Storage/storageAccounts")
    assert storage["properties"]["allowSharedKeyAccess"] is False
    assert doc["outputs"]["keyVaultSecrets"]["value"] == ["cloudtally-azure-export-storage-credential",
                                                          "cloudtally-ingest-api-key"]


def test_a_deployment_moves_aws_billing_export_onto_azure_functions():
    d = deployment.parse({"collectors": {"aws-billing-export": {
        "runtime": "azure-functions", "schedule": "cron(30 2 * * *)",
        "config": {"bucket": "cur-exports", "export_name": "focus-daily"}}}})
    places = deploy.placements(d)
    assert {p.name for p in places} == {"azure", "azure-billing-export", "aws-billing-export"}
    fns = deploy.app_functions(places)
    assert fns["collect-aws-billing-export"]["schedule"] == "0 30 2 * * *"          # NCRONTAB, seconds first
    doc = deploy.template(places)
    s = _settings(doc)
    assert "aws-billing-export" in s["CLOUDTALLY_COLLECTORS"].split(",")
    assert json.loads(s["CLOUDTALLY_COLLECTOR_CONFIG_AWS_BILLING_EXPORT"]) == {"bucket": "cur-exports",
                                                                                 "export_name": "focus-daily"}
    assert "SecretName=cloudtally-ingest-api-key" in s["CLOUDTALLY_SECRET_INGEST_API_KEY"]
    # its AWS permissions cannot be an Azure role: they follow it as the policy to grant its AWS identity
    assert doc["outputs"]["foreignPermissions"]["value"] == {"aws-billing-export": {"aws": ["s3:ListBucket", "s3:GetObject"]}}
    assert _scope_roles(doc) == _scope_roles(deploy.template(deploy.placements()))    # no Azure role added
    assert "aws-import" in {p.spec.sdk_extra for p in places} and "polars==2.1.0" in deploy.requirements(places)
    # the contract sees it in both Azure artifacts, and no longer in the Lambda one
    for name, fn in contract.ARTIFACTS["azure-functions"]:
        assert "aws-billing-export" in fn(places), name
    problems = contract.check(registry.get("aws-billing-export"), replay=False,
                              placements=[p for p in places if p.name == "aws-billing-export"])
    assert problems == []


def test_an_artifact_that_lacks_a_collector_fails_the_contract(monkeypatch):
    monkeypatch.setattr(deploy, "manifest", lambda places: {"functions": []})
    problems = contract.check(registry.get("azure"), replay=False)
    assert problems == ["deploy: functions/azure (Function App timer triggers) does not carry azure"]


def test_the_timer_function_parses_the_host_trigger_and_honours_past_due(monkeypatch, caplog):
    app_module = deploy.load_function_app()
    calls = []
    monkeypatch.setattr("cloudtally.collectors.function.run_collector",
                        lambda name, **kw: calls.append((name, kw)) or {"collector": name, "status": "ok"})
    monkeypatch.setenv("CLOUDTALLY_COLLECTOR_CONFIG_AZURE", json.dumps({"subscriptions": []}))
    fn = next(f for f in app_module.app.get_functions() if f.get_function_name() == "collect-azure")
    # the trigger data the Functions host sends a Python worker for a timer (IsPastDue, ScheduleStatus)
    timer = TimerRequestConverter.decode(Datum(json.dumps({
        "Schedule": {"AdjustForDST": True}, "IsPastDue": True,
        "ScheduleStatus": {"Last": "2026-12-15T08:00:00+00:00", "Next": "2026-12-15T10:00:00+00:00"}}), "json"),
        trigger_metadata={})
    assert isinstance(timer, func.TimerRequest) and timer.past_due
    with caplog.at_level("WARNING", logger="cloudtally.functions.azure"):
        assert fn.get_user_function()(timer) is None
    (name, kw), = calls
    assert name == "azure" and kw["event_config"] == {"subscriptions": []}
    assert any("past due" in r.message for r in caplog.records)
    summary = app_module.run("azure", timer, config_setting="CLOUDTALLY_COLLECTOR_CONFIG_AZURE")
    assert summary["past_due"] is True
    monkeypatch.setenv("CLOUDTALLY_COLLECTOR_CONFIG_AZURE", "[1, 2]")
    with pytest.raises(ConfigError, match="CLOUDTALLY_COLLECTOR_CONFIG_AZURE must be a JSON object"):
        app_module.run("azure", timer, config_setting="CLOUDTALLY_COLLECTOR_CONFIG_AZURE")


def test_the_readme_az_commands_use_the_templates_parameters_and_outputs():
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    text = (root / "README.md").read_text()
    block = next(b for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S) if "az deployment group create" in b)
    doc = json.loads(deploy.TEMPLATE.read_text())
    assert "--template-file infra/azure/cloudtally.json" in block
    line = block.split("--parameters", 1)[1].splitlines()[0]
    assert re.findall(r"(\w+)=\S", line) and all(p in doc["parameters"] for p in re.findall(r"(\w+)=\S", line))
    assert "roleSubscriptionId" in block and "roleSubscriptionId" in doc["parameters"]
    for output in re.findall(r"out (\w+)\)", block):
        assert output in doc["outputs"], output
    for secret in re.findall(r"secret set .*? -n (\S+)", block):
        assert secret in doc["outputs"]["keyVaultSecrets"]["value"]
    assert "scripts/build_azure_functions.py --zip --check" in block and (root / "scripts/build_azure_functions.py").is_file()
    assert "--src build/azure-functions.zip" in block
