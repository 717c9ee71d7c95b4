"""The deletion engine: every version, delete marker and multipart upload under a prefix, paced
per prefix (``deletion``, ``pacing``)."""
