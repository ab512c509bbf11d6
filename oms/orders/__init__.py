"""Orders: the stored document, insertion with duplicate handling, events and outbox."""
