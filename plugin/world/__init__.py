"""The kata world: real parts for kata apps to talk to (a database, upstream services)."""
