"""The purge job: its id, start and status (``lifecycle``), its record and the bucket's lease
(``table``), the tasks its worker accepts (``tasks``)."""
