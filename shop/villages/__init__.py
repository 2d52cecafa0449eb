"""The places and the households in them: the register, the roster import, standings."""
