"""Upload and chunk documents: what happened to each file, kept in MongoDB."""
