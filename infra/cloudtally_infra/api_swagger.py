"""The REST API definition of the Chalice app, as Chalice itself generates it.

Chalice's SwaggerGenerator walks ``app.routes`` (paths, methods, binary types, CORS preflights); we give it
the handler function's ARN as a CDK token so the definition lands in a SpecRestApi without ``chalice
package`` or the SAM transform (which CloudFormation emulators and cfn-lint handle poorly).
"""

from __future__ import annotations

from typing import Any



def load_chalice_app():
    """The API's Chalice app, built from the route table (the same app functions/api/app.py serves)."""
    from cloudtally.api.chalice_app import build_app
    return build_app()


def swagger(invoke_uri: str) -> dict[str, Any]:
    """The OpenAPI 2 document with every route proxied to the Lambda behind ``invoke_uri``."""
    from chalice.deploy.swagger import SwaggerGenerator

    class _Generator(SwaggerGenerator):
        def __init__(self) -> None:   # no deployed resources: the URI is a token
            pass

        def _uri(self, lambda_arn=None):
            return invoke_uri

        def _auth_uri(self, authorizer):
            raise ValueError("CloudTally authenticates in the app (API keys); Chalice authorizers are not used")

    app = load_chalice_app()
    doc = _Generator().generate_swagger(app)
    if not doc.get("paths"):
        raise ValueError("the Chalice app declares no routes")
    return doc
