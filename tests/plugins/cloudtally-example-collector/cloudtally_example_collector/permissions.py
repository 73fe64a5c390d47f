"""The chargeback API needs no cloud permission (a bearer token, from the secret store)."""


def required(api_calls):
    return {"aws": set(), "azure": set(), "gcp": set()}
