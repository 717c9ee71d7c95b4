"""The purge request and its answer: parsing, the password, the request's time, and the purge
served inline, then handed over to a job."""
