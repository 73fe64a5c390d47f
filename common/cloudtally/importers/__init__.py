"""Billing-export import: FOCUS 1.0–1.2, AWS CUR / CUR 2.0, Azure EA / MCA, GCP and OCI exports to
billed FOCUS records, exact to the last digit; and the FOCUS CSV export.

Modules: :mod:`.formats` (detection, per-source mappings), :mod:`.columns` (exact decimals, times),
:mod:`.engine` (the columnar conversion), :mod:`.apply` (import runs, period replace),
:mod:`.sources` (files, folders, S3, gzip), :mod:`.export` (FOCUS CSV), :mod:`.cli`.
Nothing here imports polars at package import: the API's export route needs only :mod:`.export`.

>>> from cloudtally.importers.formats import detect, camel_to_cur2
>>> detect(["lineItem/UnblendedCost", "bill/PayerAccountId"]), camel_to_cur2("savingsPlan/SavingsPlanARN")
('aws-cur', 'savings_plan_savings_plan_a_r_n')
"""
