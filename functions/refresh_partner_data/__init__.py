"""Lambda run by the nightly schedule: partner API datasets to one CSV per dataset and day in S3."""
