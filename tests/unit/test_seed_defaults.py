"""The OpenFinOps docs' defaults: ``AWSTelemetryAgent()`` and ``CostObservatory()`` without an endpoint use
CLOUDTALLY_API_URL, then OPENFINOPS_ENDPOINT, then http://localhost:8080, and say what to set when
nothing answers there."""

from __future__ import annotations

import http.server
import socket
import threading

import pytest

from cloudtally import config
from cloudtally.agents import AWSTelemetryAgent
from cloudtally.errors import ConfigError
from cloudtally.hub.cost_observatory import CostObservatory


@pytest.fixture
def no_env(monkeypatch):
    for var in (config.ENV_API_URL, "OPENFINOPS_ENDPOINT", config.ENV_API_KEY_ID, config.ENV_API_KEY_SECRET):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def closed_port_default(monkeypatch, no_env) -> str:
    """The default URL pointed at a port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setattr(config, "DEFAULT_API_URL", url, raising=False)
    return url


@pytest.fixture
def answering_default(monkeypatch, no_env):
    """The default URL pointed at a server that answers GET /api/health like the API."""
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/api/health" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "healthy"}')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setattr(config, "DEFAULT_API_URL", url, raising=False)
    yield url
    server.shutdown()
    server.server_close()


def test_the_default_is_the_openfinops_docs_localhost_8080(no_env):
    from cloudtally.client import resolve_api_url
    assert config.DEFAULT_API_URL == "http://localhost:8080"
    assert resolve_api_url(check=False) == "http://localhost:8080"


def test_environment_first_cloudtally_then_openfinops(monkeypatch, no_env):
    monkeypatch.setenv("OPENFINOPS_ENDPOINT", "http://openfinops-server:8080")
    assert AWSTelemetryAgent(aws_region="us-west-2").endpoint == "http://openfinops-server:8080"
    monkeypatch.setenv(config.ENV_API_URL, "https://api.cloudtally.example")
    assert AWSTelemetryAgent(aws_region="us-west-2").endpoint == "https://api.cloudtally.example"
    # an explicit argument wins over both, as in the docs' examples
    assert AWSTelemetryAgent(openfinops_endpoint="http://10.0.0.5:8080").endpoint == "http://10.0.0.5:8080"


def test_agent_without_endpoint_uses_the_default_when_it_answers(answering_default):
    agent = AWSTelemetryAgent()
    assert agent.endpoint == answering_default and agent.client.api_url == answering_default


def test_agent_without_endpoint_says_what_to_set_when_nothing_answers(closed_port_default):
    with pytest.raises(ConfigError) as e:
        AWSTelemetryAgent()
    msg = e.value.message
    assert closed_port_default in msg and "CLOUDTALLY_API_URL" in msg and "OPENFINOPS_ENDPOINT" in msg
    assert e.value.code == "api_unreachable" and e.value.details["url"] == closed_port_default


def test_cost_observatory_without_arguments_uses_the_default(answering_default, monkeypatch):
    monkeypatch.setenv(config.ENV_API_KEY_ID, "ctk_x")
    monkeypatch.setenv(config.ENV_API_KEY_SECRET, "cts_y")
    assert CostObservatory().client.api_url == answering_default


def test_cost_observatory_says_what_to_set_when_nothing_answers(closed_port_default):
    with pytest.raises(ConfigError) as e:
        CostObservatory()
    assert closed_port_default in e.value.message and "CLOUDTALLY_API_URL" in e.value.message


def test_cost_observatory_names_the_key_variables_once_the_api_answers(answering_default):
    with pytest.raises(Exception) as e:
        CostObservatory()
    assert "CLOUDTALLY_API_KEY_ID" in str(e.value) and answering_default in str(e.value)
