"""Webhooks ("get told"): subscriptions to the end of uploads, and their deliveries.

``subscriptions`` keeps who wants which events; ``events`` names the events and what a
delivery says; ``owed`` records, in the same update as an upload's terminal status, that
deliveries are owed; ``deliveries`` records them (one per event and subscription) and
makes their attempts; ``signing`` signs each attempt. The delivery task and the beat
sweep are in ``workers/tasks.py``.
"""
