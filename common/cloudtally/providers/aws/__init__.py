"""Amazon Web Services: the ``aws`` collector (inventory × catalog, CloudWatch, Cost Explorer) and the
``aws-billing-export`` collector (Data Exports in S3). boto3 is imported only when clients are made."""

PROVIDER = "AWS"
