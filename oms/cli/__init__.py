"""The `oms` command line: talk to a running OMS API."""
