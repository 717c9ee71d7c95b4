"""Lambda behind the purge endpoint: deletes every object version in an allowed bucket."""
