"""The kata world: the real parts a kata's app talks to (a database, upstream services, slow storage)."""
