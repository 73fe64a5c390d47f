"""The SaaS vendors reach no cloud: their credentials come from the secret store."""

from ..http import no_cloud_permissions as required  # noqa: F401
