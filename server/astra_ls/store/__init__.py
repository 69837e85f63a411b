"""Event stores: the interface every backend offers, and the JSONL file backend."""
